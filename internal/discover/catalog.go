package discover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
)

// catalog is what a store's database says about its own tables.
type catalog struct {
	tables []table
	keys   []foreignKey
}

type table struct {
	name       string
	primaryKey string // empty unless a single column
	columns    []column
}

type column struct {
	name string
	// text says the column holds strings, the only values the content detectors read.
	text bool
}

// foreignKey says table.column holds values of refTable.refColumn.
type foreignKey struct {
	table, column, refTable, refColumn string
}

// open connects to a store's database. A SQLite file is opened query-only, and must
// exist: opening a missing one would create it.
func open(ctx context.Context, c datamap.Connection, lookupEnv func(string) (string, bool)) (*sql.DB, error) {
	if c.Driver != datamap.SQLite {
		if lookupEnv != nil && c.DSNEnv != "" {
			dsn, err := c.ResolveDSN(lookupEnv)
			if err != nil {
				return nil, err
			}
			c.DSN, c.DSNEnv = dsn, ""
		}
		return sqlstore.OpenDB(ctx, c)
	}
	path, err := c.ResolveDSN(lookupEnv)
	if err != nil {
		return nil, err
	}
	file, _, _ := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
	if info, err := os.Stat(file); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("no SQLite database at %s", file)
	}
	q := url.Values{}
	q.Set("_query_only", "1")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite database unreachable: %w", err)
	}
	return db, nil
}

func readCatalog(ctx context.Context, tx *sql.Tx, d datamap.Driver) (catalog, error) {
	switch d {
	case datamap.Postgres, datamap.MySQL:
		return schemaCatalog(ctx, tx, d)
	case datamap.SQLite:
		return sqliteCatalog(ctx, tx)
	}
	return catalog{}, fmt.Errorf("unknown driver %q", d)
}

// The information_schema queries of PostgreSQL and MySQL/MariaDB, limited to the schema
// the connection uses (search_path, or the DSN's database).
var schemaQueries = map[datamap.Driver]struct{ columns, primaryKeys, foreignKeys string }{
	datamap.Postgres: {
		columns: `SELECT c.table_name, c.column_name, c.data_type IN ('text', 'character varying', 'character', 'citext')
			FROM information_schema.columns c JOIN information_schema.tables t
			  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
			WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position`,
		primaryKeys: `SELECT k.table_name, k.column_name FROM information_schema.table_constraints tc
			JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name
			WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()`,
		foreignKeys: `SELECT k.table_name, k.column_name, r.table_name, r.column_name
			FROM information_schema.referential_constraints rc
			JOIN information_schema.key_column_usage k ON k.constraint_schema = rc.constraint_schema AND k.constraint_name = rc.constraint_name
			JOIN information_schema.key_column_usage r ON r.constraint_schema = rc.unique_constraint_schema
			  AND r.constraint_name = rc.unique_constraint_name AND r.ordinal_position = k.position_in_unique_constraint
			WHERE rc.constraint_schema = current_schema() ORDER BY k.table_name, k.column_name`,
	},
	datamap.MySQL: {
		columns: `SELECT c.table_name, c.column_name, c.data_type IN ('char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext')
			FROM information_schema.columns c JOIN information_schema.tables t
			  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
			WHERE c.table_schema = DATABASE() ORDER BY c.table_name, c.ordinal_position`,
		primaryKeys: `SELECT table_name, column_name FROM information_schema.key_column_usage
			WHERE table_schema = DATABASE() AND constraint_name = 'PRIMARY'`,
		foreignKeys: `SELECT table_name, column_name, referenced_table_name, referenced_column_name
			FROM information_schema.key_column_usage
			WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL ORDER BY table_name, column_name`,
	},
}

func schemaCatalog(ctx context.Context, tx *sql.Tx, d datamap.Driver) (catalog, error) {
	q := schemaQueries[d]
	var cat catalog
	err := each(ctx, tx, q.columns, func(s scanner) error {
		var tbl, col string
		var text bool
		if err := s.Scan(&tbl, &col, &text); err != nil {
			return err
		}
		if n := len(cat.tables); n == 0 || cat.tables[n-1].name != tbl {
			cat.tables = append(cat.tables, table{name: tbl})
		}
		last := &cat.tables[len(cat.tables)-1]
		last.columns = append(last.columns, column{name: col, text: text})
		return nil
	})
	if err != nil {
		return catalog{}, err
	}
	keyColumns := map[string][]string{}
	err = each(ctx, tx, q.primaryKeys, func(s scanner) error {
		var tbl, col string
		if err := s.Scan(&tbl, &col); err != nil {
			return err
		}
		keyColumns[tbl] = append(keyColumns[tbl], col)
		return nil
	})
	if err != nil {
		return catalog{}, err
	}
	for i, t := range cat.tables {
		if cols := keyColumns[t.name]; len(cols) == 1 {
			cat.tables[i].primaryKey = cols[0]
		}
	}
	err = each(ctx, tx, q.foreignKeys, func(s scanner) error {
		var k foreignKey
		if err := s.Scan(&k.table, &k.column, &k.refTable, &k.refColumn); err != nil {
			return err
		}
		cat.keys = append(cat.keys, k)
		return nil
	})
	return cat, err
}

// sqliteCatalog reads sqlite_master and the table_info and foreign_key_list pragmas.
func sqliteCatalog(ctx context.Context, tx *sql.Tx) (catalog, error) {
	var cat catalog
	err := each(ctx, tx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`, func(s scanner) error {
		var t table
		err := s.Scan(&t.name)
		cat.tables = append(cat.tables, t)
		return err
	})
	if err != nil {
		return catalog{}, err
	}
	for i := range cat.tables {
		t := &cat.tables[i]
		var keys []string
		err := each(ctx, tx, `SELECT name, upper(type), pk FROM pragma_table_info(?) ORDER BY cid`, func(s scanner) error {
			var name, typ string
			var pk int
			if err := s.Scan(&name, &typ, &pk); err != nil {
				return err
			}
			// SQLite's type affinity: a declared type naming text, or none, holds strings.
			text := typ == "" || strings.Contains(typ, "CHAR") || strings.Contains(typ, "TEXT") || strings.Contains(typ, "CLOB")
			t.columns = append(t.columns, column{name: name, text: text})
			if pk > 0 {
				keys = append(keys, name)
			}
			return nil
		}, t.name)
		if err != nil {
			return catalog{}, err
		}
		if len(keys) == 1 {
			t.primaryKey = keys[0]
		}
		err = each(ctx, tx, `SELECT "from", "table", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, func(s scanner) error {
			k := foreignKey{table: t.name}
			var to sql.NullString // NULL when the key is the referenced table's primary key
			if err := s.Scan(&k.column, &k.refTable, &to); err != nil {
				return err
			}
			k.refColumn = to.String
			cat.keys = append(cat.keys, k)
			return nil
		}, t.name)
		if err != nil {
			return catalog{}, err
		}
	}
	// A key naming no column refers to the referenced table's primary key.
	for i, k := range cat.keys {
		if k.refColumn != "" {
			continue
		}
		for _, t := range cat.tables {
			if strings.EqualFold(t.name, k.refTable) {
				cat.keys[i].refColumn = t.primaryKey
			}
		}
	}
	return cat, nil
}

type scanner interface{ Scan(...any) error }

// each runs query and calls fn for each row.
func each(ctx context.Context, tx *sql.Tx, query string, fn func(scanner) error, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
