// Package i18n is the message catalogue of everything dsr says to requesters, on its pages
// and in its mail, in each language it speaks. A language is one TOML file in messages/,
// named after its BCP 47 tag (nb.toml); English is the fallback for a message a language
// lacks. Dates are spelt in words from the catalogue's own month names and date pattern.
package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Fallback is the language of requests that name none and of messages a language lacks.
var Fallback = language.English

//go:embed messages/*.toml
var messageFiles embed.FS

var builtIn = sync.OnceValues(func() (*Catalogue, error) {
	sub, err := fs.Sub(messageFiles, "messages")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Default is the catalogue built into the binary. It panics if a built-in file is broken,
// which the package's tests rule out.
func Default() *Catalogue {
	c, err := builtIn()
	if err != nil {
		panic(err)
	}
	return c
}

// Catalogue holds the messages of every language it was loaded with.
type Catalogue struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag // Fallback first, as the matcher's default
	matcher language.Matcher
	ids     map[language.Tag][]string
	// locs holds a localizer per language, made once: pages ask for one per word.
	locs map[language.Tag]*Localizer
}

// Load reads every *.toml file at the top of fsys, one language each. The fallback
// language's file must be among them.
func Load(fsys fs.FS) (*Catalogue, error) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	b := goi18n.NewBundle(Fallback)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &Catalogue{bundle: b, ids: map[language.Tag][]string{}}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := b.ParseMessageFileBytes(raw, name)
		if err != nil {
			return nil, fmt.Errorf("message file %s: %w", name, err)
		}
		if f.Tag == language.Und {
			return nil, fmt.Errorf("message file %s: name it after its language, such as nb.toml", name)
		}
		for _, m := range f.Messages {
			c.ids[f.Tag] = append(c.ids[f.Tag], m.ID)
		}
		slices.Sort(c.ids[f.Tag])
	}
	if len(c.ids[Fallback]) == 0 {
		return nil, fmt.Errorf("message files: %s.toml is missing", Fallback)
	}
	c.tags = []language.Tag{Fallback}
	for _, t := range b.LanguageTags() {
		if t != Fallback {
			c.tags = append(c.tags, t)
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	c.locs = map[language.Tag]*Localizer{}
	for _, t := range c.tags {
		c.locs[t] = &Localizer{cat: c, tag: t, loc: goi18n.NewLocalizer(b, t.String())}
	}
	return c, nil
}

// Languages are the catalogue's languages, the fallback first.
func (c *Catalogue) Languages() []language.Tag { return slices.Clone(c.tags) }

// Codes are the catalogue's languages as text, such as en and nb, the fallback first.
func (c *Catalogue) Codes() []string {
	codes := make([]string, len(c.tags))
	for i, t := range c.tags {
		codes[i] = t.String()
	}
	return codes
}

// MessageIDs are the IDs of the messages a language's file defines, sorted.
func (c *Catalogue) MessageIDs(tag language.Tag) []string { return slices.Clone(c.ids[tag]) }

// Supported returns the catalogue's language that lang names (ignoring case and a region,
// so nb-NO is nb), and whether there is one. It is for values people chose, such as
// ?lang=nb, where a near match, as Match makes, would surprise them.
func (c *Catalogue) Supported(lang string) (language.Tag, bool) {
	t, err := language.Parse(strings.TrimSpace(lang))
	if err != nil {
		return language.Und, false
	}
	base, _ := t.Base()
	for _, have := range c.tags {
		if have == t || have.String() == base.String() {
			return have, true
		}
	}
	return language.Und, false
}

// Match picks the catalogue's language that best fits an Accept-Language header, or the
// fallback when none fits or the header cannot be read.
func (c *Catalogue) Match(acceptLanguage string) language.Tag {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return Fallback
	}
	_, i, conf := c.matcher.Match(prefs...)
	if conf == language.No {
		return Fallback
	}
	return c.tags[i]
}

// For returns the localizer of tag, or of the fallback when the catalogue lacks tag.
func (c *Catalogue) For(tag language.Tag) *Localizer {
	if l, ok := c.locs[tag]; ok {
		return l
	}
	return c.locs[Fallback]
}

// ForCode is For by a stored code such as "nb"; an unknown or empty code gets the fallback.
func (c *Catalogue) ForCode(code string) *Localizer {
	t, _ := c.Supported(code)
	return c.For(t)
}

// Localizer speaks one language.
type Localizer struct {
	cat *Catalogue
	tag language.Tag
	loc *goi18n.Localizer
}

// Tag is the localizer's language.
func (l *Localizer) Tag() language.Tag { return l.tag }

// Code is the language's tag as text, such as "nb", for <html lang> and the database.
func (l *Localizer) Code() string { return l.tag.String() }

// T is the message id in the localizer's language. args are name, value pairs that fill
// in the message's {{.Name}}s; a pair named Count also picks the plural form. A message the
// language lacks comes in the fallback language; one no language has comes back as its id,
// which the catalogue's tests rule out for the built-in messages.
func (l *Localizer) T(id string, args ...any) string {
	s, err := l.Translate(id, args...)
	if err != nil && s == "" {
		return id
	}
	return s
}

// Translate is T that also says what went wrong: a missing message or a bad argument.
func (l *Localizer) Translate(id string, args ...any) (string, error) {
	if len(args)%2 != 0 {
		return "", fmt.Errorf("message %s: arguments must come in name, value pairs", id)
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if len(args) > 0 {
		data := map[string]any{}
		for i := 0; i < len(args); i += 2 {
			name, ok := args[i].(string)
			if !ok {
				return "", fmt.Errorf("message %s: argument %d is not a name", id, i)
			}
			data[name] = args[i+1]
			if name == "Count" {
				cfg.PluralCount = args[i+1]
			}
		}
		cfg.TemplateData = data
	}
	s, err := l.loc.Localize(cfg)
	var missing *goi18n.MessageNotFoundErr
	if errors.As(err, &missing) && s != "" {
		// The fallback language had it.
		return s, nil
	}
	return s, err
}

// Date spells a day in words, such as "6 December 2026" or "6. desember 2026", in UTC.
func (l *Localizer) Date(t time.Time) string {
	t = t.UTC()
	return l.T("date", "Day", t.Day(), "Month", l.T("month_"+strconv.Itoa(int(t.Month()))), "Year", t.Year())
}

// DateTime is Date with the time of day, such as "6 December 2026, 14:05 UTC".
func (l *Localizer) DateTime(t time.Time) string {
	t = t.UTC()
	return l.T("date_time", "Date", l.Date(t), "Time", t.Format("15:04"))
}

// Time is the time of day, such as "14:05 UTC".
func (l *Localizer) Time(t time.Time) string {
	return l.T("time_of_day", "Time", t.UTC().Format("15:04"))
}
