// Package discover looks for personal data the data map does not cover: it reads the
// catalog of every sql store of a map and a bounded sample of each table's rows, flags
// columns that look like personal data by their name or their content, and tables linked
// by foreign key to a mapped table that the map ignores. It only reads, inside read-only
// transactions, and sampled values never leave it: a finding holds a verdict and counts.
package discover

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
)

// DefaultSampleRows bounds the rows read from each table.
const DefaultSampleRows = 200

// Report is what a scan found, store by store in map order.
type Report struct {
	// Categories are the map's category names, so the snippet can say which suggested
	// categories the map would have to declare first.
	Categories []string
	SampleRows int
	Stores     []StoreReport
}

// StoreReport is one sql store's findings, table by table in catalog order.
type StoreReport struct {
	Store  string
	Tables []TableReport
}

// TableReport is a table holding personal data the map does not cover: columns of a
// mapped table the map does not name, or a table the map ignores.
type TableReport struct {
	Table string
	// Mapped says the map already describes the table; only some of its columns are new.
	Mapped bool
	// PrimaryKey is the table's single-column primary key, when it has one.
	PrimaryKey string
	// Link is the foreign key tying an ignored table to a mapped one, if any.
	Link    *Link
	Columns []Finding
}

// Link is a foreign key between an ignored table and a mapped one: Table.Column holds
// the value of RefTable.RefColumn. When Table is the ignored one it can be reached
// through RefTable; otherwise the mapped Table points at the ignored RefTable.
type Link struct {
	Table, Column, RefTable, RefColumn string
	// Child says the ignored table is the one holding the key (Table).
	Child bool
}

// Finding is one column that looks like personal data, and why.
type Finding struct {
	Column   string
	Category Kind
	// ByName is the kind the column's name suggests, if any.
	ByName Kind
	// ByContent is the kind most sampled values have, with how many of the Sampled
	// non-empty values matched it.
	ByContent Kind
	Matched   int
	Sampled   int
}

// Options tune a scan.
type Options struct {
	// SampleRows bounds the rows read per table; DefaultSampleRows when zero.
	SampleRows int
	// LookupEnv resolves dsn_env; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
}

// Map scans every sql store of m.
func Map(ctx context.Context, m *datamap.Map, opts Options) (Report, error) {
	if opts.SampleRows <= 0 {
		opts.SampleRows = DefaultSampleRows
	}
	r := Report{Categories: m.Categories.Names(), SampleRows: opts.SampleRows}
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL {
			continue
		}
		sr, err := scanStore(ctx, s, opts)
		if err != nil {
			return Report{}, fmt.Errorf("store %q: %w", s.Name, err)
		}
		r.Stores = append(r.Stores, sr)
	}
	return r, nil
}

func scanStore(ctx context.Context, s datamap.Store, opts Options) (StoreReport, error) {
	db, err := open(ctx, s.Connection, opts.LookupEnv)
	if err != nil {
		return StoreReport{}, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return StoreReport{}, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to keep
	cat, err := readCatalog(ctx, tx, s.Connection.Driver)
	if err != nil {
		return StoreReport{}, fmt.Errorf("read catalog: %w", err)
	}
	out := StoreReport{Store: s.Name}
	for _, t := range cat.tables {
		if strings.EqualFold(t.name, bookkeeping(s)) {
			continue
		}
		mt, mapped := mappedTable(s, t.name)
		tr := TableReport{Table: t.name, Mapped: mapped, PrimaryKey: t.primaryKey}
		if !mapped {
			tr.Link = linkToMapped(s, t.name, cat.keys)
		}
		columns, err := examine(ctx, tx, s.Connection.Driver, t, coveredColumns(mt), opts.SampleRows)
		if err != nil {
			return StoreReport{}, fmt.Errorf("table %s: %w", t.name, err)
		}
		tr.Columns = columns
		// A table a mapped one points at may be a lookup list; one pointing at a mapped
		// table holds rows about its people, personal data or not.
		if len(tr.Columns) > 0 || (tr.Link != nil && tr.Link.Child) {
			out.Tables = append(out.Tables, tr)
		}
	}
	return out, nil
}

func bookkeeping(s datamap.Store) string {
	if s.BookkeepingTable != "" {
		return s.BookkeepingTable
	}
	return datamap.DefaultBookkeepingTable
}

// mappedTable finds the map's table of that name; the map may qualify it with a schema.
func mappedTable(s datamap.Store, name string) (datamap.Table, bool) {
	for _, t := range s.Tables {
		mapName := t.Name
		if i := strings.LastIndex(mapName, "."); i >= 0 {
			mapName = mapName[i+1:]
		}
		if strings.EqualFold(mapName, name) {
			return t, true
		}
	}
	return datamap.Table{}, false
}

// coveredColumns are the columns the map names for a table: read, matched or exported by
// requests, so already in scope.
func coveredColumns(t datamap.Table) map[string]bool {
	out := map[string]bool{}
	add := func(c string) {
		if c != "" {
			out[strings.ToLower(c)] = true
		}
	}
	add(t.Identity)
	for _, c := range t.PII {
		add(c.Name)
	}
	for _, c := range t.Review.Columns {
		add(c)
	}
	for _, c := range t.Correct {
		add(c.Column)
	}
	if t.ReachedThrough != nil {
		add(t.ReachedThrough.Column)
	}
	return out
}

// linkToMapped finds a foreign key between the ignored table and a mapped one, preferring
// the ignored table's own key (it can then be reached through the mapped table).
func linkToMapped(s datamap.Store, table string, keys []foreignKey) *Link {
	var parent *Link
	for _, k := range keys {
		switch {
		case strings.EqualFold(k.table, table):
			if _, ok := mappedTable(s, k.refTable); ok {
				return &Link{Table: k.table, Column: k.column, RefTable: k.refTable, RefColumn: k.refColumn, Child: true}
			}
		case strings.EqualFold(k.refTable, table) && parent == nil:
			if _, ok := mappedTable(s, k.table); ok {
				parent = &Link{Table: k.table, Column: k.column, RefTable: k.refTable, RefColumn: k.refColumn}
			}
		}
	}
	return parent
}
