package datamap

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/domain"
)

// Problem is one thing wrong in a data map, at a line of its file.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// Errors is every problem found in a data map, in line order.
type Errors []Problem

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse reads and validates a data map; name is the file it came from, for messages. It
// returns Errors listing every problem found, not just the first.
func Parse(name string, data []byte) (*Map, error) {
	p := &parser{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{p.syntaxProblem(err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: name, Line: 1, Message: "the data map is empty; want a mapping with stores"}}
	}
	m := p.parseMap(doc.Content[0])
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
		return nil, p.problems
	}
	return m, nil
}

var (
	syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	// yaml.v3 counts lines from 0 in its parser's errors, and from 1 in its scanner's.
	parserError = regexp.MustCompile(`^did not find expected (<document start>|node content|key|'-' indicator|',' or ']'|',' or '}')$`)
)

func (p *parser) syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserError.MatchString(m[2]) {
			line++
		}
		return Problem{File: p.file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{File: p.file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	file       string
	problems   Errors
	categories domain.Categories
	// lines collects Table.Lines while a table is parsed; nil otherwise.
	lines map[string]int
}

// mention records the line of a column name written in the table being parsed.
func (p *parser) mention(name string, n *yaml.Node) {
	if p.lines == nil || n == nil || name == "" {
		return
	}
	if line, seen := p.lines[name]; !seen || n.Line < line {
		p.lines[name] = n.Line
	}
}

func (p *parser) fail(n *yaml.Node, where, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Message: msg})
}

// object is a YAML mapping whose keys were checked against the allowed ones.
type object struct {
	p    *parser
	node *yaml.Node
	// blame is the line for a missing key: the key that holds the mapping, or the mapping.
	blame  *yaml.Node
	where  string
	values map[string]*yaml.Node
	keys   map[string]*yaml.Node
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// object reports a node that is not a mapping, unknown keys and repeated keys.
func (p *parser) object(n *yaml.Node, where string, allowed ...string) object {
	n = resolve(n)
	o := object{p: p, node: n, blame: n, where: where, values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n == nil {
		return o
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, where, "want a mapping with keys %s", strings.Join(allowed, ", "))
		return o
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		switch {
		case !slices.Contains(allowed, k.Value):
			p.fail(k, where, "unknown key %q, want one of %s", k.Value, strings.Join(allowed, ", "))
		case o.keys[k.Value] != nil:
			p.fail(k, where, "key %q appears twice", k.Value)
		default:
			o.keys[k.Value], o.values[k.Value] = k, v
		}
	}
	return o
}

// sub reads the mapping under key, blaming its key's line for what is missing in it.
func (o object) sub(key, where string, allowed ...string) object {
	s := o.p.object(o.values[key], where, allowed...)
	if k := o.keys[key]; k != nil {
		s.blame = k
	}
	return s
}

func (o object) has(key string) bool { return o.values[key] != nil }

// line is the node to blame for a missing key.
func (o object) line() *yaml.Node { return o.blame }

// fail reports a problem with key's value at its key's line, or a missing key at the line
// of the mapping.
func (o object) fail(key string, format string, args ...any) {
	n := o.keys[key]
	if n == nil {
		n = o.blame
	}
	o.p.fail(n, o.where, format, args...)
}

// peek returns the scalar under key in a mapping before it is checked, so that problems
// with a store or table can name it even when they come before its name in the file.
func peek(n *yaml.Node, key string) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := resolve(n.Content[i+1]); n.Content[i].Value == key && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
			return strings.TrimSpace(v.Value)
		}
	}
	return ""
}

// named is "kind %q" for a named thing and "kind N" for one without a name.
func named(kind, name string, index int) string {
	if name == "" {
		return fmt.Sprintf("%s %d", kind, index+1)
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// str returns a scalar's text, "" for a missing or null value; required reports that.
func (o object) str(key string, required bool) string {
	n := o.values[key]
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		if required {
			o.p.fail(o.line(), o.where, "missing %s", key)
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		o.p.fail(n, o.where, "%s: want a single value", key)
		return ""
	}
	v := strings.TrimSpace(n.Value)
	if v == "" && required {
		o.p.fail(n, o.where, "%s is empty", key)
	}
	return v
}

func (o object) boolean(key string) bool {
	n := o.values[key]
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		o.p.fail(n, o.where, "%s: want true or false", key)
		return false
	}
	b, _ := strconv.ParseBool(n.Value)
	return b
}

// list returns the items of a sequence.
func (o object) list(key string) []*yaml.Node {
	n := o.values[key]
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.p.fail(n, o.where, "%s: want a list", key)
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items
}

// pairs returns a mapping's entries in file order, for keys that are names the map chooses.
func (o object) pairs(key string) [][2]*yaml.Node {
	n := o.values[key]
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		o.p.fail(n, o.where, "%s: want a mapping", key)
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if seen[k.Value] {
			o.p.fail(k, o.where, "%s: key %q appears twice", key, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// scalar returns a scalar node's text, reporting any other node.
func (p *parser) scalar(n *yaml.Node, where, what string) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		p.fail(n, where, "%s: want a single value", what)
		return "", false
	}
	if n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		p.fail(n, where, "%s is empty", what)
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

func (o object) strs(key string) []string {
	var out []string
	for _, n := range o.list(key) {
		if v, ok := o.p.scalar(n, o.where, key+" item"); ok {
			out = append(out, v)
		}
	}
	return out
}

// maxStoreName fits the bookkeeping table's key.
const maxStoreName = 128

var (
	identifier  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	envVariable = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	categoryRe  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

func isIdentifier(s string) bool { return identifier.MatchString(s) }

// isTableName accepts a table, optionally qualified by its schema.
func isTableName(s string) bool {
	schema, table, qualified := strings.Cut(s, ".")
	if qualified {
		return isIdentifier(schema) && isIdentifier(table)
	}
	return isIdentifier(s)
}

// column reads a column name, reporting one that is no plain SQL identifier: identifiers
// are the only text of the map that reaches SQL unparameterised.
func (o object) column(key string, required bool) string {
	v := o.str(key, required)
	if v != "" && !isIdentifier(v) {
		o.fail(key, "%s: %q is not a column name (letters, digits and _)", key, v)
		return ""
	}
	o.p.mention(v, o.values[key])
	return v
}

func (p *parser) parseMap(root *yaml.Node) *Map {
	o := p.object(root, "", "categories", "stores")
	m := &Map{File: p.file, Categories: domain.DefaultCategories(), CategoryLabels: map[string]Labelled{}}
	defaults := len(m.Categories)
	for _, n := range o.list("categories") {
		c := p.object(n, "categories", "name", "correctable", "label", "description")
		name, labels := c.str("name", true), c.labelled()
		at := slices.IndexFunc(m.Categories, func(k domain.Category) bool { return k.Name == name })
		switch {
		case name == "":
		case !categoryRe.MatchString(name):
			c.fail("name", "category %q: want lower-case letters, digits and _", name)
		// A default category may be named again to label it, but not redefined.
		case at >= 0 && (at >= defaults || c.has("correctable") || (labels.Label == nil && labels.Description == nil)):
			c.fail("name", "category %q is already defined", name)
		case at >= 0:
			m.CategoryLabels[name] = labels
		default:
			m.Categories = append(m.Categories, domain.Category{Name: name, Correctable: c.boolean("correctable")})
			m.CategoryLabels[name] = labels
		}
	}
	p.categories = m.Categories
	if len(o.list("stores")) == 0 {
		o.fail("stores", "no stores: the data map needs a list of stores")
		return m
	}
	seen := map[string]bool{}
	for i, n := range o.list("stores") {
		s := p.parseStore(n, i)
		if s.Name == "" {
			continue
		}
		if seen[s.Name] {
			p.fail(n, "", "store %q appears twice", s.Name)
			continue
		}
		seen[s.Name] = true
		s.Categories = m.Categories
		m.Stores = append(m.Stores, s)
	}
	return m
}

func (p *parser) category(n *yaml.Node, where, what string) string {
	name, ok := p.scalar(n, where, what)
	if !ok {
		return ""
	}
	if _, known := p.categories.Find(name); !known {
		p.fail(n, where, "unknown category %q (declare it under categories)", name)
		return ""
	}
	return name
}

func (p *parser) parseStore(n *yaml.Node, index int) Store {
	o := p.object(n, named("store", peek(n, "name"), index), "name", "label", "description", "kind", "connection", "tables",
		"identity_data_points", "bookkeeping_table", "holds", "instructions", "recipients")
	s := Store{Name: o.str("name", true), Line: n.Line, Labelled: o.labelled()}
	if len(s.Name) > maxStoreName {
		o.fail("name", "name is longer than %d bytes", maxStoreName)
	}
	switch kind := Kind(o.str("kind", true)); kind {
	case KindSQL, KindHTTP, KindManual:
		s.Kind = kind
	case "":
	default:
		o.fail("kind", "unknown kind %q, want sql, http or manual", kind)
	}
	for _, key := range []string{"tables", "identity_data_points", "bookkeeping_table"} {
		if o.has(key) && s.Kind != KindSQL && s.Kind != "" {
			o.fail(key, "key %q belongs to sql stores", key)
		}
	}
	for _, key := range []string{"holds", "instructions"} {
		if o.has(key) && s.Kind == KindSQL {
			o.fail(key, "key %q belongs to http and manual stores; a sql store's tables say what it holds", key)
		}
	}
	switch s.Kind {
	case KindSQL:
		s.Connection = p.sqlConnection(o)
		s.Tables = p.parseTables(o)
		s.DataPoints = p.parseDataPoints(o, s.Tables)
		s.BookkeepingTable = DefaultBookkeepingTable
		if o.has("bookkeeping_table") {
			if t := o.str("bookkeeping_table", true); isTableName(t) {
				s.BookkeepingTable = t
			} else if t != "" {
				o.fail("bookkeeping_table", "bookkeeping_table: %q is not a table name", t)
			}
		}
	case KindHTTP:
		s.Connection = p.httpConnection(o)
	case KindManual:
		if o.has("connection") {
			o.fail("connection", "a manual store has no connection; say what to do under instructions")
		}
		s.Instructions = o.str("instructions", false)
	}
	if s.Kind == KindHTTP || s.Kind == KindManual {
		for _, c := range o.list("holds") {
			if name := p.category(c, o.where, "holds"); name != "" {
				s.Holds = append(s.Holds, name)
			}
		}
	}
	s.Recipients = p.parseRecipients(o, s)
	return s
}

func (p *parser) sqlConnection(store object) Connection {
	if !store.has("connection") {
		store.fail("connection", "missing connection (driver and dsn_env)")
		return Connection{}
	}
	o := store.sub("connection", store.where+": connection", "driver", "dsn", "dsn_env")
	c := Connection{DSN: o.str("dsn", false), DSNEnv: o.str("dsn_env", false)}
	switch d := Driver(o.str("driver", true)); d {
	case Postgres, MySQL, SQLite:
		c.Driver = d
	case "":
	default:
		o.fail("driver", "unknown driver %q, want postgres, mysql or sqlite", d)
	}
	switch {
	case c.DSN == "" && c.DSNEnv == "":
		p.fail(o.blame, o.where, "want dsn_env, the environment variable holding the DSN (or dsn for a SQLite file)")
	case c.DSN != "" && c.DSNEnv != "":
		o.fail("dsn", "give dsn or dsn_env, not both")
	case c.DSNEnv != "" && !envVariable.MatchString(c.DSNEnv):
		o.fail("dsn_env", "dsn_env: %q is not an environment variable name", c.DSNEnv)
	case c.DSN != "" && holdsPassword(c.Driver, c.DSN):
		o.fail("dsn", "dsn holds a password; put the DSN in an environment variable and name it in dsn_env")
	}
	return c
}

var keywordPassword = regexp.MustCompile(`(^|\s)password\s*=`)

// holdsPassword spots a secret written into a literal DSN, which would then sit in a file.
func holdsPassword(d Driver, dsn string) bool {
	switch d {
	case Postgres:
		if u, err := url.Parse(dsn); err == nil && strings.Contains(dsn, "://") {
			_, has := u.User.Password()
			return has || u.Query().Has("password")
		}
		return keywordPassword.MatchString(dsn)
	case MySQL:
		at := strings.LastIndex(dsn, "@")
		return at > 0 && strings.Contains(dsn[:at], ":")
	}
	return false
}

func (p *parser) httpConnection(store object) Connection {
	if !store.has("connection") {
		store.fail("connection", "missing connection (url)")
		return Connection{}
	}
	o := store.sub("connection", store.where+": connection", "url", "key_id", "secret_env")
	c := Connection{URL: o.str("url", true), KeyID: o.str("key_id", false), SecretEnv: o.str("secret_env", false)}
	if c.URL != "" && !isWebURL(c.URL) {
		o.fail("url", "url: want an absolute http or https URL")
	}
	switch {
	case (c.KeyID == "") != (c.SecretEnv == ""):
		p.fail(o.blame, o.where, "give key_id and secret_env together: requests are signed with that key")
	case c.SecretEnv != "" && !envVariable.MatchString(c.SecretEnv):
		o.fail("secret_env", "secret_env: %q is not an environment variable name", c.SecretEnv)
	}
	return c
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func (p *parser) parseRecipients(store object, s Store) []Recipient {
	var out []Recipient
	for i, n := range store.list("recipients") {
		o := p.object(n, store.where+": "+named("recipient", peek(n, "name"), i), "name", "relation", "webhook", "key_id", "secret_env", "email", "categories", "disclosed_when")
		r := Recipient{Store: s.Name, Name: o.str("name", true), Webhook: o.str("webhook", false),
			KeyID: o.str("key_id", false), SecretEnv: o.str("secret_env", false), Email: o.str("email", false), Line: n.Line}
		switch rel := Relation(o.str("relation", true)); {
		case slices.Contains(relations, rel):
			r.Relation = rel
		case rel != "":
			o.fail("relation", "unknown relation %q, want affiliate, service_provider or third_party", rel)
		}
		if r.Webhook == "" && r.Email == "" {
			p.fail(o.blame, o.where, "say how to reach the recipient: webhook or email")
		}
		if r.Webhook != "" && !isWebURL(r.Webhook) {
			o.fail("webhook", "webhook: want an absolute http or https URL")
		}
		switch {
		case (r.KeyID == "") != (r.SecretEnv == ""):
			p.fail(o.blame, o.where, "give key_id and secret_env together: webhook notices are signed with that key")
		case r.KeyID != "" && r.Webhook == "":
			p.fail(o.blame, o.where, "key_id and secret_env sign webhook notices; give a webhook too")
		case r.SecretEnv != "" && !envVariable.MatchString(r.SecretEnv):
			o.fail("secret_env", "secret_env: %q is not an environment variable name", r.SecretEnv)
		}
		if r.Email != "" {
			if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
				o.fail("email", "email: %q is not an e-mail address", r.Email)
			}
		}
		for _, c := range o.list("categories") {
			if name := p.category(c, o.where, "categories"); name != "" {
				r.Categories = append(r.Categories, name)
			}
		}
		if o.has("disclosed_when") {
			r.DisclosedWhen = p.parseDisclosure(o, s)
		}
		if slices.ContainsFunc(out, func(x Recipient) bool { return x.Name == r.Name }) {
			p.fail(n, store.where, "recipient %q appears twice", r.Name)
			continue
		}
		out = append(out, r)
	}
	return out
}

// parseDisclosure reads a recipient's disclosed_when: {table, column, since} in a sql
// store, "reported" in an http or manual store.
func (p *parser) parseDisclosure(recipient object, s Store) *Disclosure {
	n := recipient.values["disclosed_when"]
	switch s.Kind {
	case "":
		return nil // the store's kind is already reported
	case KindHTTP, KindManual:
		if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) != "reported" {
			recipient.fail("disclosed_when", "disclosed_when: want reported (the store names the recipient in its answer's disclosed_to)")
			return nil
		}
		return &Disclosure{Reported: true}
	}
	if n.Kind == yaml.ScalarNode {
		recipient.fail("disclosed_when", "disclosed_when: want {table, column} (a flag set while the data goes to the recipient), with since (the column holding the date it began) or instead of column")
		return nil
	}
	o := recipient.sub("disclosed_when", recipient.where+": disclosed_when", "table", "column", "since")
	d := &Disclosure{Table: o.str("table", true), Column: o.column("column", false), Since: o.column("since", false)}
	if d.Table != "" && !slices.ContainsFunc(s.Tables, func(t Table) bool { return t.Name == d.Table }) {
		o.fail("table", "table %q is not described in this store", d.Table)
	}
	if d.Column == "" && d.Since == "" && !o.has("column") && !o.has("since") {
		p.fail(o.blame, o.where, "want column (a flag set while the data goes to the recipient) or since (the date it began), or both")
	}
	return d
}

func (p *parser) parseDataPoints(store object, tables []Table) []DataPoint {
	var out []DataPoint
	for i, n := range store.list("identity_data_points") {
		o := p.object(n, store.where+": "+named("identity data point", peek(n, "name"), i), "name", "table", "column", "match")
		d := DataPoint{Name: o.str("name", true), Table: o.str("table", true), Column: o.column("column", true),
			Match: MatchExact, Line: n.Line}
		if m := Match(o.str("match", false)); m != "" {
			if m != MatchExact && m != MatchLast4 {
				o.fail("match", "unknown match %q, want exact or last4", m)
			}
			d.Match = m
		}
		if d.Table != "" && !slices.ContainsFunc(tables, func(t Table) bool { return t.Name == d.Table }) {
			o.fail("table", "table %q is not described in this store", d.Table)
		}
		if d.Name != "" && slices.ContainsFunc(out, func(x DataPoint) bool { return x.Name == d.Name }) {
			p.fail(n, store.where, "identity data point %q appears twice", d.Name)
			continue
		}
		out = append(out, d)
	}
	return out
}
