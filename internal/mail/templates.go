package mail

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Brand is how the organisation presents itself in its mail.
type Brand struct {
	Organization     string // signs the mail: "The NAME privacy team"; empty: "The privacy team"
	PrivacyPolicyURL string // linked under the signature; optional
	LogoURL          string // absolute URL of the logo shown above the message; optional
	AccentColor      string // #rrggbb of headings and links; empty means DefaultAccentColor
}

// DefaultAccentColor is the pages' and mail's accent colour when none is set.
const DefaultAccentColor = "#0b5394"

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidAccentColor reports whether c is a colour as #rrggbb, the one form that is safe to
// write into a style sheet or a style attribute.
func ValidAccentColor(c string) bool { return hexColor.MatchString(c) }

// kindSpec is what Render needs to know of a kind besides its templates.
type kindSpec struct {
	fits   func(any) bool
	decode func(json.RawMessage) (any, error)
	want   string
	// sample is data with every field set, against which override templates are tried.
	sample any
	// english says the notice goes to an organisation, not a requester, and so is always
	// in English.
	english bool
}

func specOf[T any](sample T) kindSpec {
	return kindSpec{
		fits:   func(v any) bool { _, ok := v.(T); return ok },
		decode: func(b json.RawMessage) (any, error) { var v T; err := json.Unmarshal(b, &v); return v, err },
		want:   reflect.TypeFor[T]().String(),
		sample: sample,
	}
}

var sampleDay = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

var kindSpecs = map[Kind]kindSpec{
	KindVerificationCode: specOf(VerificationCode{Code: "123456", ValidMinutes: 30, VerifyURL: "https://privacy.example.com/requests/ID/verify"}),
	KindAcknowledgement:  specOf(Acknowledgement{RequestType: "review", DueDate: sampleDay, StatusURL: "https://privacy.example.com/requests/ID"}),
	KindReminder:         specOf(Reminder{VerifyURL: "https://privacy.example.com/requests/ID/verify", ExpiresAt: sampleDay}),
	KindExtension:        specOf(Extension{NewDueDate: sampleDay, Reason: "Many systems hold your data."}),
	KindDenial:           specOf(Denial{Reason: "We could not confirm who you are.", AuthorityName: "Datatilsynet", AuthorityURL: "https://www.datatilsynet.no"}),
	KindCompletion: specOf(Completion{RequestType: "suppress", Found: []string{"webstore: orders"}, Changed: []string{"newsletter: deleted"},
		Retained: []Retained{{What: "orders", Reason: "tax law", Until: sampleDay}}, RecipientsTold: []string{"Affiliate Ltd"},
		ReportURL: "https://privacy.example.com/requests/ID/report"}),
	KindAppealDecision: specOf(AppealDecision{Reason: "The records are kept under tax law.", RegulatorName: "Office of the Attorney General of Virginia",
		RegulatorURL: "https://www.oag.state.va.us/consumer-protection/", StatusURL: "https://privacy.example.com/requests/ID"}),
	KindAgentOutcome: specOf(AgentOutcome{Outcome: "denied"}),
	KindRecipientNotice: func() kindSpec {
		s := specOf(RecipientNotice{Change: "Delete all personal data about this person.", SubjectRef: "C-1", RespondBy: sampleDay})
		s.english = true
		return s
	}(),
}

var funcs = map[string]any{
	"date": func(t time.Time) string { return i18n.Default().For(i18n.Fallback).Date(t) },
	// changesOnly names the types whose stores report what they changed but not what they
	// hold: for them an empty outcome may mean the data was already as asked, not absent.
	"changesOnly": func(requestType string) bool { return domain.RequestType(requestType).ChangesOnly() },
	// need fails the render instead of sending a message with a blank where a fact belongs.
	"need": func(name string, v any) (any, error) {
		if v == nil || reflect.ValueOf(v).IsZero() {
			return nil, fmt.Errorf("%s is required", name)
		}
		return v, nil
	},
}

// kindTemplates are one kind's templates in one wording.
type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parseKind parses the layout with one kind's file, read from fsys at name.
func parseKind(fsys fs.FS, name string) (kindTemplates, error) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.tmpl")
	if err != nil {
		return kindTemplates{}, err
	}
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return kindTemplates{}, err
	}
	// The kind's file is parsed as a template of its own, so that errors give its lines.
	base := path.Base(name)
	text, err := texttemplate.New("layout.tmpl").Funcs(funcs).Parse(string(layout))
	if err == nil {
		_, err = text.New(base).Parse(string(body))
	}
	if err != nil {
		return kindTemplates{}, err
	}
	html, err := htmltemplate.New("layout.tmpl").Funcs(funcs).Parse(string(layout))
	if err == nil {
		_, err = html.New(base).Parse(string(body))
	}
	if err != nil {
		return kindTemplates{}, err
	}
	for _, part := range []string{"subject", "text", "html"} {
		if text.Lookup(part) == nil {
			return kindTemplates{}, fmt.Errorf("defines no %q template", part)
		}
	}
	return kindTemplates{text: text, html: html}, nil
}

// Templates renders notices in the request's language, with the organisation's brand.
type Templates struct {
	catalogue *i18n.Catalogue
	brand     Brand
	// builtIn are the embedded templates; overrides replace a kind in every language
	// (key "") or in one (key "nb").
	builtIn   map[Kind]kindTemplates
	overrides map[Kind]map[string]kindTemplates
}

var defaultTemplates = func() *Templates {
	t, err := NewTemplates(i18n.Default(), Brand{}, "")
	if err != nil {
		panic(err)
	}
	return t
}()

// Render renders n with the built-in templates and no brand beyond n.Organization.
func Render(n Notice) (Message, error) { return defaultTemplates.Render(n) }

// NewTemplates loads the built-in templates and, when overrideDir is set, the
// organisation's own: KIND.tmpl replaces a kind's template in every language, KIND.LANG.tmpl
// (such as completion.nb.tmpl) in one. Each is parsed with the built-in layout and tried
// against sample data in each of its languages; the error of a broken one names its file.
func NewTemplates(catalogue *i18n.Catalogue, brand Brand, overrideDir string) (*Templates, error) {
	if brand.AccentColor == "" {
		brand.AccentColor = DefaultAccentColor
	}
	if !ValidAccentColor(brand.AccentColor) {
		return nil, fmt.Errorf("notice templates: accent colour %q is not #rrggbb", brand.AccentColor)
	}
	t := &Templates{catalogue: catalogue, brand: brand, builtIn: map[Kind]kindTemplates{}, overrides: map[Kind]map[string]kindTemplates{}}
	for k := range kindSpecs {
		kt, err := parseKind(templateFS, "templates/"+string(k)+".tmpl")
		if err != nil {
			return nil, fmt.Errorf("built-in %s template: %w", k, err)
		}
		t.builtIn[k] = kt
	}
	if overrideDir == "" {
		return t, nil
	}
	if err := t.loadOverrides(overrideDir); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Templates) loadOverrides(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("notice templates: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		file := filepath.Join(dir, name)
		kind, lang, _ := strings.Cut(strings.TrimSuffix(name, ".tmpl"), ".")
		spec, ok := kindSpecs[Kind(kind)]
		if !ok {
			return fmt.Errorf("notice template %s: no notice is called %q", file, kind)
		}
		langs := t.catalogue.Codes()
		if lang != "" {
			tag, ok := t.catalogue.Supported(lang)
			if !ok {
				return fmt.Errorf("notice template %s: %q is not one of the languages %s", file, lang, strings.Join(langs, ", "))
			}
			lang, langs = tag.String(), []string{tag.String()}
		}
		if spec.english {
			langs = []string{i18n.Fallback.String()}
		}
		kt, err := parseKind(os.DirFS(dir), name)
		if err != nil {
			return fmt.Errorf("notice template %s: %w", file, err)
		}
		if t.overrides[Kind(kind)] == nil {
			t.overrides[Kind(kind)] = map[string]kindTemplates{}
		}
		t.overrides[Kind(kind)][lang] = kt
		for _, l := range langs {
			n := Notice{Kind: Kind(kind), To: "someone@example.com", RequestID: "00000000-0000-0000-0000-000000000000", Language: l, Data: spec.sample}
			if _, err := t.render(n, kt); err != nil {
				return fmt.Errorf("notice template %s: %w", file, errors.Unwrap(err))
			}
		}
	}
	return nil
}

// Render fills in the templates of n's kind in n's language: subject and text with
// text/template, the HTML part with html/template, which escapes everything the data and
// the catalogue bring in.
func (t *Templates) Render(n Notice) (Message, error) {
	spec, ok := kindSpecs[n.Kind]
	if !ok {
		return Message{}, fmt.Errorf("render notice: unknown kind %q", n.Kind)
	}
	if spec.english {
		n.Language = i18n.Fallback.String()
	}
	loc := t.catalogue.ForCode(n.Language)
	kt := t.builtIn[n.Kind]
	if o, ok := t.overrides[n.Kind][""]; ok {
		kt = o
	}
	if o, ok := t.overrides[n.Kind][loc.Code()]; ok {
		kt = o
	}
	return t.render(n, kt)
}

func (t *Templates) render(n Notice, kt kindTemplates) (Message, error) {
	spec := kindSpecs[n.Kind]
	switch {
	case !spec.fits(n.Data):
		return Message{}, fmt.Errorf("render %s notice: data is %T, want %s", n.Kind, n.Data, spec.want)
	case n.To == "" || n.RequestID == "":
		return Message{}, fmt.Errorf("render %s notice: recipient and request ID are required", n.Kind)
	}
	v := view{RequestID: n.RequestID, Organization: n.Organization, Brand: t.brand, Data: n.Data, ReceiptURL: n.ReceiptURL,
		loc: t.catalogue.ForCode(n.Language)}
	if v.Organization == "" {
		v.Organization = t.brand.Organization
	}
	var subject, text, html bytes.Buffer
	err := kt.text.ExecuteTemplate(&subject, "subject", v)
	if err == nil {
		err = kt.text.ExecuteTemplate(&text, "text", v)
	}
	if err == nil {
		err = kt.html.ExecuteTemplate(&html, "page", v)
	}
	if err != nil {
		return Message{}, fmt.Errorf("render %s notice: %w", n.Kind, err)
	}
	return Message{
		To:      n.To,
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    tidy(text.String()),
		HTML:    html.String(),
	}, nil
}

// view is what a notice's templates see.
type view struct {
	RequestID    string
	Organization string
	Brand        Brand
	Data         any
	ReceiptURL   string
	loc          *i18n.Localizer
}

// T is a message of the catalogue in the notice's language; see i18n.Localizer.T.
func (v view) T(id string, args ...any) (string, error) {
	return v.loc.Translate(id, args...)
}

// Date is a day in words in the notice's language.
func (v view) Date(t time.Time) string { return v.loc.Date(t) }

// Until is the end of a retention: its day, or the words for a hold with no end.
func (v view) Until(t time.Time) string {
	if t.IsZero() {
		return v.loc.T("completion_until_lifted")
	}
	return v.loc.Date(t)
}

// Action is what a request of the type asks, to follow "your request to".
func (v view) Action(requestType string) string {
	if requestType != "" {
		if s, err := v.loc.Translate("action_" + requestType); err == nil {
			return s
		}
	}
	return v.loc.T("action_other")
}

// Lang is the notice's language, for <html lang>.
func (v view) Lang() string { return v.loc.Code() }

// Accent is the brand's colour, checked to be #rrggbb, for style attributes.
func (v view) Accent() htmltemplate.CSS { return htmltemplate.CSS(v.Brand.AccentColor) }
