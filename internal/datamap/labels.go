package datamap

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Text is a label or description for people, by language tag ("en", "nb"). The map may
// give it as a plain string, which is English.
type Text map[string]string

// English is the language a plain-string label is in, and the one every other falls back to.
const English = "en"

// In returns the text in lang ("nb-NO" also finds "nb"), else in English, else "".
func (t Text) In(lang string) string {
	lang = strings.ToLower(lang)
	if v, ok := t[lang]; ok {
		return v
	}
	if base, _, cut := strings.Cut(lang, "-"); cut {
		if v, ok := t[base]; ok {
			return v
		}
	}
	return t[English]
}

// Labelled is how a store, table, column or category is named to the people whose data it
// holds, instead of by its internal name.
type Labelled struct {
	Label       Text
	Description Text
}

// LabelIn returns the label in lang, falling back to English and then to a readable form
// of name ("total_cents" reads "Total cents").
func (l Labelled) LabelIn(lang, name string) string {
	if s := l.Label.In(lang); s != "" {
		return s
	}
	return Readable(name)
}

// DescriptionIn returns the description in lang, falling back to English, or "".
func (l Labelled) DescriptionIn(lang string) string { return l.Description.In(lang) }

// Readable turns an internal name into words: "order_history" reads "Order history".
func Readable(name string) string {
	s := strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(name))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Format is how a column's values are shown to people.
type Format string

// Formats. Without one a value is shown as it is, except that true and false read Yes
// and No, and timestamps read as dates in words.
const (
	FormatText       Format = ""
	FormatMoneyCents Format = "money_cents" // an amount in the currency's minor unit: 999 reads £9.99
	FormatBoolean    Format = "boolean"     // 0/1, true/false, "t"/"f" read Yes/No
	FormatDate       Format = "date"        // a date in words, without the time of day
	FormatDateTime   Format = "datetime"    // a date and time in words
)

var formats = []Format{FormatMoneyCents, FormatBoolean, FormatDate, FormatDateTime}

// ColumnDisplay is how a column is named and its values shown to people.
type ColumnDisplay struct {
	Labelled
	Format Format
	// Currency is the ISO 4217 code of a money column ("GBP").
	Currency string
}

// DisplayOf returns how column is shown; a column the map says nothing about has the zero
// value, which reads as its readable name.
func (t Table) DisplayOf(column string) ColumnDisplay { return t.Display[column] }

// CategoryDisplay returns how the category called name is shown.
func (m *Map) CategoryDisplay(name string) Labelled { return m.CategoryLabels[name] }

// MainCategory is the kind of data a table's records are, under which a report lists them:
// the table's category when the map gives one, else the category of most of its pii
// columns; of equals, the one declared last, as the map's own categories follow the
// general defaults and say more.
func (t Table) MainCategory(order []string) string {
	if t.Category != "" {
		return t.Category
	}
	count := map[string]int{}
	for _, c := range t.PII {
		if c.Category != "" {
			count[c.Category]++
		}
	}
	best := ""
	for _, c := range t.PII {
		n, b := count[c.Category], count[best]
		if n > b || (n == b && n > 0 && slices.Index(order, c.Category) > slices.Index(order, best)) {
			best = c.Category
		}
	}
	return best
}

var (
	languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	currencyRe  = regexp.MustCompile(`^[A-Z]{3}$`)
)

// labelled reads the optional label and description keys of a mapping.
func (o object) labelled() Labelled {
	return Labelled{Label: o.text("label"), Description: o.text("description")}
}

// text reads a plain string (English) or a mapping of language tag to string.
func (o object) text(key string) Text {
	n := o.values[key]
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if v, ok := o.p.scalar(n, o.where, key); ok {
			return Text{English: v}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		o.fail(key, "%s: want a string, or a mapping of language tag to string such as {en: Orders, nb: Bestillinger}", key)
		return nil
	}
	t := Text{}
	for _, kv := range o.pairs(key) {
		tag := kv[0].Value
		if !languageTag.MatchString(tag) {
			o.p.fail(kv[0], o.where, "%s: %q is not a language tag such as en or nb", key, tag)
			continue
		}
		if v, ok := o.p.scalar(kv[1], o.where, fmt.Sprintf("%s %s", key, tag)); ok {
			t[strings.ToLower(tag)] = v
		}
	}
	return t
}

// tableColumns reads a table's columns key: how each pii or review column is named and
// its values shown.
func (p *parser) tableColumns(o object, t *Table) {
	for _, kv := range o.pairs("columns") {
		col := kv[0].Value
		if _, isPII := t.CategoryOf(col); !isPII && !slices.Contains(t.Review.Columns, col) {
			p.fail(kv[0], o.where, "columns: %q is not a pii or review column of the table", col)
			continue
		}
		c := p.object(kv[1], fmt.Sprintf("%s: column %q", o.where, col), "label", "description", "format", "currency")
		c.blame = kv[0]
		d := ColumnDisplay{Labelled: c.labelled(), Currency: c.str("currency", false)}
		switch f := Format(c.str("format", false)); {
		case f == FormatText, slices.Contains(formats, f):
			d.Format = f
		default:
			c.fail("format", "unknown format %q, want money_cents, boolean, date or datetime", f)
		}
		switch {
		case d.Format == FormatMoneyCents && d.Currency == "":
			c.fail("format", "format money_cents needs currency, an ISO 4217 code such as GBP")
		case d.Currency != "" && d.Format != FormatMoneyCents:
			c.fail("currency", "currency belongs to format money_cents")
		case d.Currency != "" && !currencyRe.MatchString(d.Currency):
			c.fail("currency", "currency: %q is not an ISO 4217 code such as GBP", d.Currency)
		}
		if t.Display == nil {
			t.Display = map[string]ColumnDisplay{}
		}
		t.Display[col] = d
	}
}
