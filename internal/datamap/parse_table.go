package datamap

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/domain"
)

func (p *parser) parseTables(store object) []Table {
	nodes := store.list("tables")
	if len(nodes) == 0 {
		store.fail("tables", "a sql store needs tables: at least one table holding personal data")
		return nil
	}
	var tables []Table
	lines := map[string]*yaml.Node{}
	for i, n := range nodes {
		t, links := p.parseTable(n, store.where, i)
		if t.Name == "" {
			continue
		}
		if lines[t.Name] != nil {
			p.fail(n, store.where, "table %q appears twice", t.Name)
			continue
		}
		lines[t.Name] = links
		tables = append(tables, t)
	}
	p.checkLinks(store.where, tables, lines)
	return tables
}

// checkLinks reports a reached_through that names no table of the store, or that goes
// round in a circle and so never reaches an e-mail address.
func (p *parser) checkLinks(where string, tables []Table, nodes map[string]*yaml.Node) {
	byName, circled := map[string]Table{}, map[string]bool{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	for _, t := range tables {
		if t.ReachedThrough == nil {
			continue
		}
		at := fmt.Sprintf("%s: table %q: reached_through", where, t.Name)
		parent, ok := byName[t.ReachedThrough.Table]
		if !ok {
			p.fail(nodes[t.Name], at, "table %q is not described in this store", t.ReachedThrough.Table)
			continue
		}
		seen := map[string]bool{t.Name: true}
		for parent.ReachedThrough != nil && !seen[parent.Name] {
			seen[parent.Name] = true
			parent = byName[parent.ReachedThrough.Table]
		}
		if seen[parent.Name] && !circled[t.Name] {
			p.fail(nodes[t.Name], at, "tables reach each other in a circle; one of them needs an identity column")
			maps.Copy(circled, seen)
		}
	}
}

// parseTable returns the table and the node to blame for its link.
func (p *parser) parseTable(n *yaml.Node, storeWhere string, index int) (Table, *yaml.Node) {
	o := p.object(n, storeWhere+": "+named("table", peek(n, "table"), index), "table", "label", "description", "category", "primary_key", "identity",
		"reached_through", "pii", "review", "correct", "suppress", "restrict", "retention", "legal_hold", "columns")
	t := Table{Name: o.str("table", true), Line: n.Line, Labelled: o.labelled(), Lines: map[string]int{}}
	p.lines = t.Lines
	defer func() { p.lines = nil }()
	if t.Name != "" && !isTableName(t.Name) {
		o.fail("table", "%q is not a table name (letters, digits and _, optionally schema.table)", t.Name)
		return Table{}, nil
	}
	t.PrimaryKey = o.column("primary_key", true)
	p.tableIdentity(o, &t)
	p.tablePII(o, &t)
	p.tableReview(o, &t)
	p.tableCorrect(o, &t)
	p.tableSuppress(o, &t)
	p.tableRestrict(o, &t)
	p.tableRetention(o, &t)
	p.tableLegalHold(o, &t)
	p.tableColumns(o, &t)
	if o.has("category") {
		t.Category = p.category(o.values["category"], o.where, "category")
	}
	link := o.keys["reached_through"]
	if link == nil {
		link = o.blame
	}
	return t, link
}

func (p *parser) tableIdentity(o object, t *Table) {
	switch {
	case o.has("identity") && o.has("reached_through"):
		o.fail("reached_through", "give identity or reached_through, not both")
		return
	case !o.has("identity") && !o.has("reached_through"):
		p.fail(o.blame, o.where, "missing identity (the column holding the e-mail address) or reached_through")
		return
	case o.has("reached_through"):
		l := o.sub("reached_through", o.where+": reached_through", "table", "key", "column")
		t.ReachedThrough = &Link{Table: l.str("table", true), Key: l.column("key", true), Column: l.column("column", true)}
		if t.ReachedThrough.Table == t.Name && t.Name != "" {
			l.fail("table", "a table cannot be reached through itself")
		}
		return
	}
	if n := o.values["identity"]; n.Kind == yaml.MappingNode {
		id := o.sub("identity", o.where+": identity", "column", "normalised")
		t.Identity, t.IdentityNormalised = id.column("column", true), id.boolean("normalised")
		return
	}
	t.Identity = o.column("identity", true)
}

func (p *parser) tablePII(o object, t *Table) {
	if !o.has("pii") {
		p.fail(o.blame, o.where, "missing pii: the columns holding personal data and their categories")
		return
	}
	pairs := o.pairs("pii")
	if len(pairs) == 0 && o.values["pii"].Kind == yaml.MappingNode {
		o.fail("pii", "pii is empty: list the columns holding personal data")
	}
	for _, kv := range pairs {
		col := kv[0].Value
		if !isIdentifier(col) {
			p.fail(kv[0], o.where, "pii: %q is not a column name", col)
			continue
		}
		p.mention(col, kv[0])
		// A column of an unknown category is kept without one, so that the rules naming it
		// do not report the same mistake again.
		t.PII = append(t.PII, Column{Name: col, Category: p.category(kv[1], o.where, fmt.Sprintf("pii column %q", col))})
	}
}

func (p *parser) tableReview(o object, t *Table) {
	if !o.has("review") {
		return
	}
	r := o.sub("review", o.where+": review", "columns", "notes")
	for _, n := range r.list("columns") {
		if col, ok := p.scalar(n, r.where, "columns item"); ok {
			if !isIdentifier(col) {
				p.fail(n, r.where, "%q is not a column name", col)
				continue
			}
			p.mention(col, n)
			t.Review.Columns = append(t.Review.Columns, col)
		}
	}
	t.Review.Notes = r.strs("notes")
}

func (p *parser) tableCorrect(o object, t *Table) {
	for _, kv := range o.pairs("correct") {
		field, col := kv[0].Value, kv[1]
		c, known := p.categories.Find(field)
		switch {
		case !known:
			p.fail(kv[0], o.where, "correct: unknown field %q: fields are categories", field)
			continue
		case !c.Correctable:
			p.fail(kv[0], o.where, "correct: category %q is not correctable", field)
			continue
		}
		name, ok := p.scalar(col, o.where, fmt.Sprintf("correct field %q", field))
		if !ok {
			continue
		}
		if cat, isPII := t.CategoryOf(name); !isPII || (cat != field && cat != "") {
			p.fail(col, o.where, "correct: field %q maps to column %q, which is not a pii column of category %q", field, name, field)
			continue
		}
		t.Correct = append(t.Correct, Correction{Field: field, Column: name})
	}
}

func (p *parser) tableSuppress(o object, t *Table) {
	s := o.sub("suppress", o.where+": suppress", "all", "columns")
	if all := s.str("all", false); all != "" {
		if Strategy(all) != DeleteRow {
			s.fail("all", "all: unknown strategy %q, want delete_row (or leave it out to apply the column strategies)", all)
		}
		t.Suppress.All = Strategy(all)
	}
	t.Suppress.Columns = map[string]Strategy{}
	named := map[string]bool{}
	for _, kv := range s.pairs("columns") {
		col := kv[0].Value
		named[col] = true
		if _, isPII := t.CategoryOf(col); !isPII {
			p.fail(kv[0], s.where, "column %q is not a pii column of the table", col)
			continue
		}
		// The strategy null is YAML's null too, so it is read as written.
		v := kv[1]
		if v.Kind != yaml.ScalarNode || !slices.Contains(strategies, Strategy(v.Value)) {
			p.fail(v, o.where, "unknown suppress strategy %q, want delete_row, null, mask or hash", v.Value)
			continue
		}
		t.Suppress.Columns[col] = Strategy(v.Value)
	}
	var missing []string
	for _, c := range t.PII {
		if !named[c.Name] {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		o.fail("suppress", "suppress: no strategy for pii columns %s", strings.Join(missing, ", "))
	}
}

func (p *parser) tableRestrict(o object, t *Table) {
	for _, kv := range o.pairs("restrict") {
		limit, err := domain.ParseRestrictLimit(kv[0].Value)
		if err != nil {
			p.fail(kv[0], o.where, "restrict: unknown limit %q, want marketing_email, affiliate_sharing or all_processing", kv[0].Value)
			continue
		}
		f := p.object(kv[1], fmt.Sprintf("%s: restrict %s", o.where, limit), "column", "value", "lifted")
		f.blame = kv[0]
		flag := Flag{Limit: limit, Column: f.column("column", true)}
		v := f.values["value"]
		if v == nil {
			p.fail(f.blame, f.where, "missing value: what the column is set to")
			continue
		}
		value, ok := scalarValue(v)
		if !ok {
			p.fail(v, f.where, "value: want true, false, a number, a string or null")
			continue
		}
		flag.Value = value
		if l := f.values["lifted"]; l != nil {
			if flag.Lifted, flag.CanLift = scalarValue(l); !flag.CanLift {
				p.fail(l, f.where, "lifted: want true, false, a number, a string or null")
				continue
			}
		} else if b, ok := value.(bool); ok {
			flag.Lifted, flag.CanLift = !b, true
		}
		if flag.Column != "" {
			t.Restrict = append(t.Restrict, flag)
		}
	}
}

// scalarValue turns a YAML scalar into the Go value a SQL driver takes.
func scalarValue(n *yaml.Node) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		return nil, false
	}
	switch n.Tag {
	case "!!null":
		return nil, true
	case "!!bool":
		b, err := strconv.ParseBool(n.Value)
		return b, err == nil
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		return i, err == nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		return f, err == nil
	}
	return n.Value, true
}

func (p *parser) tableRetention(o object, t *Table) {
	for _, n := range o.list("retention") {
		r := p.object(n, o.where+": retention", "column", "younger_than", "basis", "describe")
		rule := RetentionRule{Column: r.column("column", true), Basis: r.str("basis", true),
			Describe: r.str("describe", false), Line: n.Line}
		if s := r.str("younger_than", true); s != "" {
			period, err := ParsePeriod(s)
			if err != nil {
				r.fail("younger_than", "younger_than: %v", err)
			}
			rule.Period = period
		}
		names, err := placeholders(rule.Describe)
		if err != nil {
			r.fail("describe", "describe: %v", err)
		}
		for _, name := range names {
			p.mention(name, r.values["describe"])
		}
		t.Retention = append(t.Retention, rule)
	}
}

func (p *parser) tableLegalHold(o object, t *Table) {
	n := o.values["legal_hold"]
	switch {
	case n == nil:
		return
	case n.Kind == yaml.MappingNode:
		h := o.sub("legal_hold", o.where+": legal_hold", "column", "basis")
		t.LegalHold = &LegalHold{Column: h.column("column", true), Basis: h.str("basis", false)}
	default:
		t.LegalHold = &LegalHold{Column: o.column("legal_hold", true)}
	}
	if t.LegalHold.Basis == "" {
		t.LegalHold.Basis = DefaultLegalHoldBasis
	}
}
