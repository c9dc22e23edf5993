package datamap

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RetentionRule keeps a row while the date in Column is younger than Period, for the legal
// reason in Basis (GDPR Art. 17(3) names the grounds), e.g. invoices 7 years from the order
// date. Describe names the kept record for the requester: a template in which {column} is
// replaced by the row's value, dates shown as YYYY-MM-DD; without it, the table's English
// label (or name) and the row's primary key.
type RetentionRule struct {
	Column   string
	Period   Period
	Basis    string
	Describe string
	Line     int
}

// Period is a span of calendar time.
type Period struct {
	Years, Months, Days int
}

// ParsePeriod reads "7 years", "18 months", "90 days" or a sequence such as
// "1 year 6 months".
func ParsePeriod(s string) (Period, error) {
	words := strings.Fields(s)
	if len(words) == 0 || len(words)%2 != 0 {
		return Period{}, fmt.Errorf("want a period such as \"7 years\", got %q", s)
	}
	var p Period
	for i := 0; i < len(words); i += 2 {
		n, err := strconv.Atoi(words[i])
		if err != nil || n < 1 {
			return Period{}, fmt.Errorf("want a positive number in %q", s)
		}
		switch strings.TrimSuffix(strings.ToLower(words[i+1]), "s") {
		case "year":
			p.Years += n
		case "month":
			p.Months += n
		case "day":
			p.Days += n
		default:
			return Period{}, fmt.Errorf("unknown unit %q in %q, want years, months or days", words[i+1], s)
		}
	}
	return p, nil
}

func (p Period) String() string {
	var parts []string
	for _, u := range []struct {
		n    int
		unit string
	}{{p.Years, "year"}, {p.Months, "month"}, {p.Days, "day"}} {
		switch {
		case u.n == 1:
			parts = append(parts, "1 "+u.unit)
		case u.n > 1:
			parts = append(parts, strconv.Itoa(u.n)+" "+u.unit+"s")
		}
	}
	return strings.Join(parts, " ")
}

// Until is the end of the retention of a row dated from.
func (r RetentionRule) Until(from time.Time) time.Time {
	return from.AddDate(r.Period.Years, r.Period.Months, r.Period.Days)
}

// Retained evaluates the table's retention rules for a row whose dates (by column) are
// given: it returns the rule that keeps the row longest at now and when that ends. A rule
// whose date is missing does not keep the row.
func (t Table) Retained(dates map[string]time.Time, now time.Time) (rule RetentionRule, until time.Time, ok bool) {
	for _, r := range t.Retention {
		from, has := dates[r.Column]
		if !has || from.IsZero() {
			continue
		}
		if u := r.Until(from); u.After(now) && u.After(until) {
			rule, until, ok = r, u, true
		}
	}
	return rule, until, ok
}

// Placeholders lists the columns the Describe template names, in order.
func (r RetentionRule) Placeholders() []string {
	names, _ := placeholders(r.Describe)
	return names
}

// Description fills the Describe template with the row's values; value returns the text
// for a column. Without a template it is the table's label (or name) and primary key.
func (r RetentionRule) Description(t Table, value func(column string) string) string {
	return describe(r.Describe, t, value)
}

func describe(template string, t Table, value func(string) string) string {
	if template == "" {
		// The requester reads this: the table's label, when it has one, says what the row is.
		name := t.Name
		if l := t.Label.In(English); l != "" {
			name = l
		}
		return name + " " + value(t.PrimaryKey)
	}
	var b strings.Builder
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			return b.String()
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:open])
		b.WriteString(value(rest[open+1 : open+end]))
		rest = rest[open+end+1:]
	}
}

// placeholders returns the {column} names in a template, or an error for an unbalanced
// brace or a name that is no identifier.
func placeholders(template string) ([]string, error) {
	var names []string
	rest := template
	for {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			return names, nil
		}
		if rest[open] == '}' {
			return names, fmt.Errorf("unbalanced '}' in %q", template)
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return names, fmt.Errorf("unclosed '{' in %q", template)
		}
		name := rest[open+1 : open+1+end]
		if !isIdentifier(name) {
			return names, fmt.Errorf("placeholder {%s} is not a column name", name)
		}
		names = append(names, name)
		rest = rest[open+1+end+1:]
	}
}
