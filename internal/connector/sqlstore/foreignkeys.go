package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
)

// The data map says which table is reached through which, but not every foreign key: a
// table found by the address may still point at another one the person's rows are deleted
// from. The order of deletions is therefore taken from the store's own catalog, read in the
// operation's transaction, so that a deletion never trips a constraint.

// fkOrder is the order in which the store's tables are changed, by plan index, and the
// circles of foreign keys found, by table name.
type fkOrder struct {
	order  []int
	cycles [][]string
}

// The queries return (referencing table, referenced table) under the name a query would
// write them by: bare for the connection's own schema or database, qualified otherwise.
const (
	postgresForeignKeys = `SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'`
	mysqlForeignKeys    = `SELECT CASE WHEN table_schema = DATABASE() THEN table_name ELSE CONCAT(table_schema, '.', table_name) END,
	CASE WHEN referenced_table_schema = DATABASE() THEN referenced_table_name ELSE CONCAT(referenced_table_schema, '.', referenced_table_name) END
FROM information_schema.KEY_COLUMN_USAGE
WHERE referenced_table_name IS NOT NULL AND (table_schema = DATABASE() OR referenced_table_schema = DATABASE())`
	sqliteForeignKeys = `SELECT m.name, f."table" FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table'`
)

// foreignKeyOrder reads the store's foreign keys and orders its tables for a change.
func (c *Connector) foreignKeyOrder(ctx context.Context, q querier) (fkOrder, error) {
	names, err := c.catalogNames(ctx, q)
	if err != nil {
		return fkOrder{}, fmt.Errorf("read the foreign keys: %w", sanitise(err))
	}
	query := map[datamap.Driver]string{datamap.Postgres: postgresForeignKeys, datamap.MySQL: mysqlForeignKeys, datamap.SQLite: sqliteForeignKeys}[datamap.Driver(c.plan.d)]
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fkOrder{}, fmt.Errorf("read the foreign keys: %w", sanitise(err))
	}
	defer rows.Close()
	refs := make([][]int, len(c.plan.tables)) // by table, the tables it points at
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return fkOrder{}, fmt.Errorf("read the foreign keys: %w", sanitise(err))
		}
		i, j := slices.Index(names, c.fold(from)), slices.Index(names, c.fold(to))
		if i >= 0 && j >= 0 && !slices.Contains(refs[i], j) {
			refs[i] = append(refs[i], j)
		}
	}
	if err := rows.Err(); err != nil {
		return fkOrder{}, fmt.Errorf("read the foreign keys: %w", sanitise(err))
	}
	for i, t := range c.plan.tables {
		if t.parent >= 0 && !slices.Contains(refs[i], t.parent) {
			refs[i] = append(refs[i], t.parent)
		}
	}
	return c.orderByReferences(refs), nil
}

// catalogNames returns each table's name as the foreign key query writes it, folded.
func (c *Connector) catalogNames(ctx context.Context, q querier) ([]string, error) {
	names := make([]string, len(c.plan.tables))
	var own string
	switch datamap.Driver(c.plan.d) {
	case datamap.Postgres:
		// to_regclass resolves each name through the search path, as the connector's
		// queries do; one query for all the store's tables.
		quoted := make([]string, len(c.plan.tables))
		for i, t := range c.plan.tables {
			quoted[i] = c.plan.d.quote(t.Name)
		}
		rows, err := q.QueryContext(ctx, `SELECT coalesce(to_regclass(n)::text, '') FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i`, quoted)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for i := 0; rows.Next() && i < len(names); i++ {
			var name string
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			names[i] = c.fold(name)
		}
		return names, rows.Err()
	case datamap.MySQL:
		if err := q.QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&own); err != nil {
			return nil, err
		}
	case datamap.SQLite:
		own = "main"
	}
	for i, t := range c.plan.tables {
		names[i] = c.fold(strings.TrimPrefix(t.Name, own+"."))
	}
	return names, nil
}

// fold makes names compare as the engine compares them: MySQL and SQLite without case
// (MySQL's table names by default on most systems), PostgreSQL by its quoted form.
func (c *Connector) fold(name string) string {
	if datamap.Driver(c.plan.d) == datamap.Postgres {
		return strings.ReplaceAll(name, `"`, "")
	}
	return strings.ToLower(name)
}

// orderByReferences orders the tables so that each comes before every table it points at;
// among tables free to go, the one later in the data map goes first, as deletions always
// went. Tables in a circle of references go last, in that same order, and are reported.
func (c *Connector) orderByReferences(refs [][]int) fkOrder {
	n := len(refs)
	pointedAt := make([]int, n) // by table, how many tables not yet placed point at it
	for i, to := range refs {
		for _, j := range to {
			if j != i {
				pointedAt[j]++
			}
		}
	}
	var out fkOrder
	placed := make([]bool, n)
	for len(out.order) < n {
		next := -1
		for i := n - 1; i >= 0; i-- {
			if !placed[i] && pointedAt[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		placed[next] = true
		out.order = append(out.order, next)
		for _, j := range refs[next] {
			if j != next {
				pointedAt[j]--
			}
		}
	}
	for _, cycle := range cycles(refs) {
		var names []string
		for _, i := range cycle {
			names = append(names, c.plan.tables[i].Name)
		}
		out.cycles = append(out.cycles, names)
	}
	for i := n - 1; i >= 0; i-- {
		if !placed[i] {
			out.order = append(out.order, i)
		}
	}
	return out
}

// cycles returns the groups of tables whose references lead back to themselves (Tarjan's
// strongly connected components of two tables or more, and a table pointing at itself),
// each in plan order.
func cycles(refs [][]int) [][]int {
	n := len(refs)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range refs[v] {
			switch {
			case index[w] < 0:
				visit(w)
				low[v] = min(low[v], low[w])
			case onStack[w]:
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var group []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			group = append(group, w)
			if w == v {
				break
			}
		}
		if len(group) > 1 || slices.Contains(refs[v], v) {
			slices.Sort(group)
			out = append(out, group)
		}
	}
	for v := range n {
		if index[v] < 0 {
			visit(v)
		}
	}
	slices.SortFunc(out, func(a, b []int) int { return a[0] - b[0] })
	return out
}
