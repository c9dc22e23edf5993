package sqlstore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// dialect writes what differs between the engines: quoting and placeholders.
type dialect datamap.Driver

// quote quotes a table or column name, each part of schema.table separately. The data map
// admits only plain identifiers, so quoting guards against reserved words, not injection.
func (d dialect) quote(name string) string {
	q := `"`
	if datamap.Driver(d) == datamap.MySQL {
		q = "`"
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = q + strings.ReplaceAll(p, q, q+q) + q
	}
	return strings.Join(parts, ".")
}

// lock is what a SELECT appends to lock the rows a change will touch. SQLite needs none:
// its write transactions take the whole database.
func (d dialect) lock() string {
	if datamap.Driver(d) == datamap.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// statement builds one SQL statement with its arguments, numbering placeholders as it goes.
type statement struct {
	d    dialect
	b    strings.Builder
	args []any
}

func (s *statement) sql(parts ...string) *statement {
	for _, p := range parts {
		s.b.WriteString(p)
	}
	return s
}

func (s *statement) ident(name string) *statement {
	s.b.WriteString(s.d.quote(name))
	return s
}

func (s *statement) arg(v any) *statement {
	s.args = append(s.args, v)
	if datamap.Driver(s.d) != datamap.Postgres {
		s.b.WriteByte('?')
		return s
	}
	var digits [20]byte
	s.b.WriteByte('$')
	s.b.Write(strconv.AppendInt(digits[:0], int64(len(s.args)), 10))
	return s
}

// in writes "column IN (…)" over values.
func (s *statement) in(column string, values []any) *statement {
	s.b.Grow(len(values) * 6)
	s.args = slices.Grow(s.args, len(values))
	s.ident(column).sql(" IN (")
	for i, v := range values {
		if i > 0 {
			s.sql(", ")
		}
		s.arg(v)
	}
	return s.sql(")")
}

func (s *statement) String() string { return s.b.String() }

// batchSize bounds the values of one IN list, well below every engine's parameter limit.
const batchSize = 500

// tablePlan is one table of the store with what the connector reads from it.
type tablePlan struct {
	datamap.Table
	// columns are those read from each row, the primary key first; pos finds them.
	columns []string
	pos     map[string]int
	// parent indexes the table this one is reached through, or is -1.
	parent int
	// selectFrom is "SELECT columns FROM table".
	selectFrom string
	// describe is the template that names a row in a retention exception.
	describe string
}

// plan is the store's tables in an order where each comes after the one it is reached
// through, so that rows can be found parents first and deleted children first.
type plan struct {
	d      dialect
	tables []tablePlan
	// rank orders categories for reports as the map lists them.
	rank map[string]int
	// fields are the correctable fields the store holds, in file order.
	fields []string
	// usesHash says a suppression may need the hash key.
	usesHash bool
	// identityTables are the tables identity data points are read from, with the tables
	// they are reached through.
	identityTables []bool
}

// index returns the position of the table called name.
func (p plan) index(name string) int {
	return slices.IndexFunc(p.tables, func(t tablePlan) bool { return t.Name == name })
}

func newPlan(s datamap.Store) plan {
	p := plan{d: dialect(s.Connection.Driver), rank: map[string]int{}}
	for i, c := range s.Categories {
		p.rank[c.Name] = i
	}
	for _, t := range ordered(s.Tables) {
		tp := tablePlan{Table: t, parent: -1, pos: map[string]int{}}
		if t.ReachedThrough != nil {
			tp.parent = slices.IndexFunc(p.tables, func(x tablePlan) bool { return x.Name == t.ReachedThrough.Table })
		}
		p.tables = append(p.tables, tp)
	}
	for i := range p.tables {
		t := &p.tables[i]
		add := func(cols ...string) {
			for _, c := range cols {
				if _, ok := t.pos[c]; !ok && c != "" {
					t.pos[c] = len(t.columns)
					t.columns = append(t.columns, c)
				}
			}
		}
		add(t.PrimaryKey, t.Identity)
		for _, c := range t.PII {
			add(c.Name)
			if t.Suppress.Columns[c.Name] == datamap.Hash {
				p.usesHash = true
			}
		}
		add(t.Review.Columns...)
		for _, c := range t.Correct {
			add(c.Column)
			if !slices.Contains(p.fields, c.Field) {
				p.fields = append(p.fields, c.Field)
			}
		}
		for _, f := range t.Restrict {
			add(f.Column)
		}
		for _, r := range t.Retention {
			add(r.Column)
			add(r.Placeholders()...)
			if t.describe == "" {
				t.describe = r.Describe
			}
		}
		if t.LegalHold != nil {
			add(t.LegalHold.Column)
		}
		if t.ReachedThrough != nil {
			add(t.ReachedThrough.Column)
		}
		for _, child := range s.Tables {
			if child.ReachedThrough != nil && child.ReachedThrough.Table == t.Name {
				add(child.ReachedThrough.Key)
			}
		}
		for _, d := range s.DataPoints {
			if d.Table == t.Name {
				add(d.Column)
			}
		}
		for _, r := range s.Recipients {
			if d := r.DisclosedWhen; d != nil && d.Table == t.Name {
				add(d.Column, d.Since)
			}
		}
		var b strings.Builder
		b.WriteString("SELECT ")
		for j, c := range t.columns {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.d.quote(c))
		}
		b.WriteString(" FROM ")
		b.WriteString(p.d.quote(t.Name))
		t.selectFrom = b.String()
	}
	p.identityTables = make([]bool, len(p.tables))
	for _, d := range s.DataPoints {
		for i := p.index(d.Table); i >= 0 && !p.identityTables[i]; i = p.tables[i].parent {
			p.identityTables[i] = true
		}
	}
	return p
}

// ordered sorts tables so that each follows the table it is reached through; the data map
// has ruled out circles.
func ordered(tables []datamap.Table) []datamap.Table {
	var out []datamap.Table
	placed := map[string]bool{}
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if !placed[t.Name] && (t.ReachedThrough == nil || placed[t.ReachedThrough.Table]) {
				out, placed[t.Name], progress = append(out, t), true, true
			}
		}
		if !progress {
			break
		}
	}
	return out
}

// byIdentity selects the rows whose identity column holds the address. A normalised column
// is compared as is, so that its index serves the lookup.
func (p plan) byIdentity(t *tablePlan, email string, lock bool) *statement {
	s := &statement{d: p.d}
	s.sql(t.selectFrom, " WHERE ")
	if t.IdentityNormalised {
		s.ident(t.Identity)
	} else {
		s.sql("lower(trim(").ident(t.Identity).sql("))")
	}
	s.sql(" = ").arg(email).sql(" ORDER BY ").ident(t.PrimaryKey)
	if lock {
		s.sql(p.d.lock())
	}
	return s
}

// byLink selects the rows reached through the given keys of the parent table.
func (p plan) byLink(t *tablePlan, keys []any, lock bool) *statement {
	s := &statement{d: p.d}
	s.sql(t.selectFrom, " WHERE ").in(t.ReachedThrough.Column, keys).sql(" ORDER BY ").ident(t.PrimaryKey)
	if lock {
		s.sql(p.d.lock())
	}
	return s
}

// assignment sets one column to a value; action says what that does to the column's
// value, for the change plan.
type assignment struct {
	column string
	value  any
	action connector.ColumnAction
}

// update sets columns of the rows with the given primary keys.
func (p plan) update(t *tablePlan, sets []assignment, keys []any) *statement {
	s := &statement{d: p.d}
	s.sql("UPDATE ").ident(t.Name).sql(" SET ")
	for i, a := range sets {
		if i > 0 {
			s.sql(", ")
		}
		s.ident(a.column).sql(" = ").arg(a.value)
	}
	return s.sql(" WHERE ").in(t.PrimaryKey, keys)
}

// delete deletes the rows with the given primary keys.
func (p plan) delete(t *tablePlan, keys []any) *statement {
	s := &statement{d: p.d}
	return s.sql("DELETE FROM ").ident(t.Name).sql(" WHERE ").in(t.PrimaryKey, keys)
}

// batches splits values into slices of at most batchSize.
func batches(values []any) [][]any {
	var out [][]any
	for len(values) > batchSize {
		out = append(out, values[:batchSize])
		values = values[batchSize:]
	}
	if len(values) > 0 {
		out = append(out, values)
	}
	return out
}
