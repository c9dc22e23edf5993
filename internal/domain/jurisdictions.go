package domain

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// builtinJurisdictions is the table of every jurisdiction's limits, each cited to its law.
//
//go:embed jurisdictions.yaml
var builtinJurisdictions []byte

// Period is a length of time the law counts in calendar days or in calendar months.
type Period struct {
	Days   int `yaml:"days" json:"days,omitempty"`
	Months int `yaml:"months" json:"months,omitempty"`
}

// After returns t moved on by the period, in UTC. Months clamp the day to the end of a
// shorter month (Jan 31 + 1 month = Feb 28), which errs early rather than past the law.
func (p Period) After(t time.Time) time.Time {
	t = t.UTC()
	if p.Months != 0 {
		return addMonths(t, p.Months)
	}
	return t.AddDate(0, 0, p.Days)
}

// Limit is a period with the text that sets it.
type Limit struct {
	Period `yaml:",inline"`
	Source string `yaml:"source"`
}

// Extension is the one extension a law allows, and what it counts from.
type Extension struct {
	Limit `yaml:",inline"`
	// From is "due_date" (the original due date) or "receipt" (of the request).
	From string `yaml:"from"`
}

// Extension origins.
const (
	FromDueDate = "due_date"
	FromReceipt = "receipt"
)

// Acknowledgement is the deadline to confirm receipt of a request, in business days.
type Acknowledgement struct {
	BusinessDays int    `yaml:"business_days"`
	Source       string `yaml:"source"`
}

// Appeal is how long a person has to appeal a refusal and how long the answer may take.
type Appeal struct {
	Window    Limit      `yaml:"window"`
	Response  Limit      `yaml:"response"`
	Extension *Extension `yaml:"extension"`
}

// Regulator is whom a person may complain to.
type Regulator struct {
	Name string `yaml:"name" json:"name"`
	URL  string `yaml:"url" json:"url"`
}

// Rules are one jurisdiction's time limits and regulator.
type Rules struct {
	Name        string           `yaml:"name"`
	Response    Limit            `yaml:"response"`
	Extension   *Extension       `yaml:"extension"`
	Acknowledge *Acknowledgement `yaml:"acknowledge"`
	Appeal      *Appeal          `yaml:"appeal"`
	Regulator   *Regulator       `yaml:"regulator"`
}

// DueDate returns when the answer to a request received at received is due. The time of
// day is kept, which is no later than the legal end of the due day.
func (r Rules) DueDate(received time.Time) time.Time { return r.Response.After(received) }

// AcknowledgeBy returns when receipt of a request received at received must be confirmed,
// or false where the law sets no such deadline. Public holidays are not skipped, so the
// date errs early.
func (r Rules) AcknowledgeBy(received time.Time) (time.Time, bool) {
	if r.Acknowledge == nil {
		return time.Time{}, false
	}
	t := received.UTC()
	for left := r.Acknowledge.BusinessDays; left > 0; {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			left--
		}
	}
	return t, true
}

// ExtensionRule is the rule a workflow extends a request's due date by, fixed at intake
// so the workflow never reads the table (see DeadlinePolicy.Extension).
func (r Rules) ExtensionRule(received time.Time) *ExtensionRule {
	if r.Extension == nil {
		return &ExtensionRule{}
	}
	rule := &ExtensionRule{Period: r.Extension.Period}
	if r.Extension.From == FromReceipt {
		rule.Since = received.UTC()
	}
	return rule
}

// ExtensionRule is the one extension of a request's due date. A zero rule allows none.
type ExtensionRule struct {
	Period
	// Since is the receipt of the request when the extension counts from it; zero when
	// it counts from the original due date.
	Since time.Time `json:",omitzero"`
}

// extend returns the due date after the extension of original.
func (e ExtensionRule) extend(original time.Time) time.Time {
	if e.Period == (Period{}) {
		return original.UTC()
	}
	if !e.Since.IsZero() {
		return e.Period.After(e.Since)
	}
	return e.Period.After(original)
}

// Jurisdictions is the table of every jurisdiction's rules. It is read-only once built.
type Jurisdictions struct {
	rules map[Jurisdiction]Rules
}

// BuiltinJurisdictions returns the table embedded in dsr. Its own test keeps it valid.
var BuiltinJurisdictions = sync.OnceValue(func() *Jurisdictions {
	t, err := (&Jurisdictions{}).Override("jurisdictions.yaml", builtinJurisdictions)
	if err != nil {
		panic(err)
	}
	for _, j := range jurisdictions {
		if _, ok := t.rules[j]; !ok {
			panic(fmt.Sprintf("jurisdictions.yaml: no rules for %s", j))
		}
	}
	return t
})

// Override returns a copy of t whose rules are replaced by each jurisdiction the YAML
// document data names; file names it in errors, which give its line.
func (t *Jurisdictions) Override(file string, data []byte) (*Jurisdictions, error) {
	entries, err := parseJurisdictions(file, data)
	if err != nil {
		return nil, err
	}
	out := &Jurisdictions{rules: map[Jurisdiction]Rules{}}
	for j, r := range t.rules {
		out.rules[j] = r
	}
	for j, r := range entries {
		out.rules[j] = r
	}
	return out, nil
}

// For returns the rules of j. Under the default jurisdiction a deployment's DefaultDays
// replaces the days of the table's response and extension.
func (t *Jurisdictions) For(j Jurisdiction, p DeadlinePolicy) Rules {
	r := t.rules[j]
	if j == JurisdictionDefault && p.DefaultDays > 0 {
		r.Response.Period = Period{Days: p.DefaultDays}
		if r.Extension != nil {
			ext := *r.Extension
			ext.Period = Period{Days: p.DefaultDays}
			r.Extension = &ext
		}
	}
	return r
}

// Policy returns p carrying the extension rule of j for a request received at received,
// which is what a request's workflow needs of the table.
func (t *Jurisdictions) Policy(j Jurisdiction, received time.Time, p DeadlinePolicy) DeadlinePolicy {
	p.Extension = t.For(j, p).ExtensionRule(received)
	return p
}

// JurisdictionError is every problem found in a jurisdictions file, each as
// file:line: message, in line order.
type JurisdictionError struct{ Problems []string }

func (e *JurisdictionError) Error() string { return strings.Join(e.Problems, "\n") }

type lineProblem struct {
	line int
	text string
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseJurisdictions decodes strictly (unknown keys refused) and then checks each entry.
func parseJurisdictions(file string, data []byte) (map[Jurisdiction]Rules, error) {
	var problems []lineProblem
	add := func(line int, format string, args ...any) {
		problems = append(problems, lineProblem{line, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))})
	}
	fail := func() error {
		slices.SortStableFunc(problems, func(a, b lineProblem) int { return cmp.Compare(a.line, b.line) })
		e := &JurisdictionError{}
		for _, p := range problems {
			e.Problems = append(e.Problems, p.text)
		}
		return e
	}
	var entries map[string]Rules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil && !errors.Is(err, io.EOF) {
		var typeErr *yaml.TypeError
		msgs := []string{err.Error()}
		if errors.As(err, &typeErr) {
			msgs = typeErr.Errors
		}
		for _, m := range msgs {
			if g := yamlLine.FindStringSubmatch(m); g != nil {
				n, _ := strconv.Atoi(g[1])
				add(n, "%s", g[2])
			} else {
				add(1, "%s", strings.TrimPrefix(m, "yaml: "))
			}
		}
		return nil, fail()
	}
	if len(entries) == 0 {
		add(1, "no jurisdictions; want a mapping of jurisdiction names to rules")
		return nil, fail()
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		add(1, "%s", err)
		return nil, fail()
	}
	out := map[Jurisdiction]Rules{}
	for name, r := range entries {
		c := checker{root: &root, add: add, path: []string{name}}
		j, err := ParseJurisdiction(name)
		if err != nil {
			c.fail(nil, "unknown jurisdiction %q, want one of %v", name, jurisdictions)
			continue
		}
		c.rules(r)
		out[j] = r
	}
	if len(problems) > 0 {
		return nil, fail()
	}
	return out, nil
}

// checker reports what is missing or wrong in one entry, at the line of the key at fault.
type checker struct {
	root *yaml.Node
	add  func(line int, format string, args ...any)
	path []string
}

func (c checker) at(key string) checker {
	return checker{root: c.root, add: c.add, path: append(append([]string{}, c.path...), key)}
}

func (c checker) fail(sub []string, format string, args ...any) {
	where := strings.Join(append(append([]string{}, c.path...), sub...), ".")
	c.add(c.line(sub), where+": "+format, args...)
}

// line is the line of the deepest key of c.path+sub present in the document.
func (c checker) line(sub []string) int {
	n := c.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 1
	for _, key := range append(append([]string{}, c.path...), sub...) {
		next := (*yaml.Node)(nil)
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func (c checker) rules(r Rules) {
	if strings.TrimSpace(r.Name) == "" {
		c.fail([]string{"name"}, "is required")
	}
	c.at("response").limit(r.Response)
	if r.Extension != nil {
		c.at("extension").extension(*r.Extension)
	}
	if a := r.Acknowledge; a != nil {
		if a.BusinessDays <= 0 {
			c.fail([]string{"acknowledge", "business_days"}, "want a positive number of business days")
		}
		if strings.TrimSpace(a.Source) == "" {
			c.fail([]string{"acknowledge", "source"}, "is required: cite the text that sets the limit")
		}
	}
	if a := r.Appeal; a != nil {
		c.at("appeal").at("window").limit(a.Window)
		c.at("appeal").at("response").limit(a.Response)
		if a.Extension != nil {
			c.at("appeal").at("extension").extension(*a.Extension)
		}
	}
	if g := r.Regulator; g != nil {
		if strings.TrimSpace(g.Name) == "" {
			c.fail([]string{"regulator", "name"}, "is required")
		}
		if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.fail([]string{"regulator", "url"}, "want an http(s) URL")
		}
	}
}

func (c checker) extension(e Extension) {
	c.limit(e.Limit)
	if e.From != FromDueDate && e.From != FromReceipt {
		c.fail([]string{"from"}, "want %s or %s", FromDueDate, FromReceipt)
	}
}

func (c checker) limit(l Limit) {
	switch {
	case l.Days < 0 || l.Months < 0:
		c.fail(nil, "a period must not be negative")
	case l.Days > 0 && l.Months > 0:
		c.fail(nil, "give days or months, not both")
	case l.Days == 0 && l.Months == 0:
		c.fail(nil, "is required: give days or months")
	}
	if strings.TrimSpace(l.Source) == "" {
		c.fail([]string{"source"}, "is required: cite the text that sets the limit")
	}
}
