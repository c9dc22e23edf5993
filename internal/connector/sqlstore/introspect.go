package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
)

// A typo in the data map's table or column names would otherwise start cleanly and fail
// at the first request, retried forever. CheckSchema reads the database's own catalog
// (names only, never a row) so that start-up stops with the line to fix instead.

// CheckSchema compares a store of the map in file with its database: every table, column,
// key and identity column the store names must exist. It returns one problem per missing
// name, at the line that names it, with the nearest real name when one is close; the error
// is for a catalog that could not be read.
func CheckSchema(ctx context.Context, db *sql.DB, file string, s datamap.Store) (datamap.Errors, error) {
	cat, err := readCatalog(ctx, db, s.Connection.Driver)
	if err != nil {
		return nil, fmt.Errorf("store %q: read the database's catalog: %w", s.Name, sanitise(err))
	}
	var problems datamap.Errors
	missingTable := map[string]bool{}
	for _, t := range s.Tables {
		if _, ok := cat.table(t.Name); !ok {
			missingTable[t.Name] = true
			problems = append(problems, datamap.Problem{File: file, Line: t.Line, Message: fmt.Sprintf(
				"table `%s` not in the database of store `%s`%s", t.Name, s.Name, suggestion(t.Name, cat.tableNames(), cat.foldTables))})
		}
	}
	reported := map[[2]string]bool{}
	for _, r := range references(s) {
		key := [2]string{r.table, cat.foldColumn(r.column)}
		if missingTable[r.table] || reported[key] {
			continue
		}
		columns, _ := cat.table(r.table)
		if cat.hasColumn(columns, r.column) {
			continue
		}
		reported[key] = true
		problems = append(problems, datamap.Problem{File: file, Line: r.line, Message: fmt.Sprintf(
			"%s `%s` not in table `%s`%s", r.role, r.column, r.table, suggestion(r.column, columns, cat.foldColumns))})
	}
	return problems, nil
}

// reference is one column the store's entry names, with where it names it.
type reference struct {
	table, column string
	role          string // how the message names it: column, primary key, identity column, key
	line          int
}

// references lists every column the connector reads or writes, in the map's order, each
// at the line of the table entry (or data point, or recipient) that names it.
func references(s datamap.Store) []reference {
	var out []reference
	for _, t := range s.Tables {
		at := func(column string) int {
			if l := t.Lines[column]; l > 0 {
				return l
			}
			return t.Line
		}
		add := func(table, role string, columns ...string) {
			for _, c := range columns {
				if c != "" {
					out = append(out, reference{table: table, column: c, role: role, line: at(c)})
				}
			}
		}
		add(t.Name, "primary key", t.PrimaryKey)
		add(t.Name, "identity column", t.Identity)
		if l := t.ReachedThrough; l != nil {
			add(t.Name, "column", l.Column)
			add(l.Table, "key", l.Key)
		}
		for _, c := range t.PII {
			add(t.Name, "column", c.Name)
		}
		add(t.Name, "column", t.Review.Columns...)
		for _, c := range t.Correct {
			add(t.Name, "column", c.Column)
		}
		for _, f := range t.Restrict {
			add(t.Name, "column", f.Column)
		}
		for _, r := range t.Retention {
			add(t.Name, "column", r.Column)
			add(t.Name, "column", r.Placeholders()...)
		}
		if t.LegalHold != nil {
			add(t.Name, "column", t.LegalHold.Column)
		}
	}
	for _, d := range s.DataPoints {
		out = append(out, reference{table: d.Table, column: d.Column, role: "column", line: d.Line})
	}
	for _, r := range s.Recipients {
		if d := r.DisclosedWhen; d != nil && d.Table != "" {
			for _, c := range []string{d.Column, d.Since} {
				if c != "" {
					out = append(out, reference{table: d.Table, column: c, role: "column", line: r.Line})
				}
			}
		}
	}
	return out
}

// catalog is a database's tables and their columns, under every name the data map may
// write a table by: schema.table, and table alone for a schema the connection searches.
type catalog struct {
	tables map[string][]string
	// order lists the names in the catalog's order, so suggestions do not depend on map order.
	order []string
	// MySQL compares column names without case, SQLite table and column names; PostgreSQL
	// compares exactly, since the connector quotes every name.
	foldTables, foldColumns bool
}

// The catalog queries read names only. PostgreSQL and MySQL find an unqualified table in
// the connection's search path or current database; SQLite's tables live in main.
const (
	postgresCatalog = `SELECT table_schema, table_name, column_name,
	coalesce(array_position(current_schemas(false), table_schema::name), 0)
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY coalesce(array_position(current_schemas(false), table_schema::name), 2147483647),
	table_schema, table_name, ordinal_position`
	mysqlCatalog = `SELECT table_schema, table_name, column_name, CASE WHEN table_schema = DATABASE() THEN 1 ELSE 0 END
FROM information_schema.columns
WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY 4 DESC, table_schema, table_name, ordinal_position`
	sqliteCatalog = `SELECT 'main', m.name, p.name, 1
FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
WHERE m.type IN ('table', 'view')
ORDER BY m.name, p.cid`
)

func readCatalog(ctx context.Context, db *sql.DB, d datamap.Driver) (catalog, error) {
	cat := catalog{tables: map[string][]string{}}
	var query string
	switch d {
	case datamap.Postgres:
		query = postgresCatalog
	case datamap.MySQL:
		query, cat.foldColumns = mysqlCatalog, true
	case datamap.SQLite:
		query, cat.foldTables, cat.foldColumns = sqliteCatalog, true, true
	default:
		return cat, fmt.Errorf("unknown driver %q", d)
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return cat, err
	}
	defer rows.Close()
	// unqualified remembers which schema a bare table name was taken from: the first one
	// searched wins, as it does in a query.
	unqualified := map[string]string{}
	for rows.Next() {
		var schema, table, column string
		var searched int
		if err := rows.Scan(&schema, &table, &column, &searched); err != nil {
			return cat, err
		}
		cat.add(schema+"."+table, column)
		if from, taken := unqualified[table]; searched > 0 && (!taken || from == schema) {
			unqualified[table] = schema
			cat.add(table, column)
		}
	}
	return cat, rows.Err()
}

func (c *catalog) add(table, column string) {
	key := c.foldTable(table)
	if _, ok := c.tables[key]; !ok {
		c.order = append(c.order, table)
	}
	c.tables[key] = append(c.tables[key], column)
}

func (c catalog) table(name string) ([]string, bool) {
	columns, ok := c.tables[c.foldTable(name)]
	return columns, ok
}

func (c catalog) tableNames() []string { return c.order }

func (c catalog) hasColumn(columns []string, name string) bool {
	for _, col := range columns {
		if c.foldColumn(col) == c.foldColumn(name) {
			return true
		}
	}
	return false
}

func (c catalog) foldTable(name string) string {
	if c.foldTables {
		return strings.ToLower(name)
	}
	return name
}

func (c catalog) foldColumn(name string) string {
	if c.foldColumns {
		return strings.ToLower(name)
	}
	return name
}
