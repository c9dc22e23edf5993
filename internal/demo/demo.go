// Package demo is the company that `dsr dev` ships: seven SQL databases standing in for
// its systems (newsletter, web store, account portal, community, promotions, e-mail a
// friend, web server logs), a support-desk service that answers the webhook protocol, and
// a paper archive worked by hand, all described in the embedded data map and seeded with
// the demo people of the README and a few hundred synthetic ones. The generic connectors
// run requests against them, exactly as against a real company's systems.
package demo

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
)

//go:embed datamap.yaml
var dataMapYAML []byte

// Store names of the data map that tests and the README refer to.
const (
	SupportDeskStore  = "support-desk"
	PaperArchiveStore = "paper-archive"
)

// DataMap returns the demo data map as written, with the connections of its file.
func DataMap() (*datamap.Map, error) {
	return datamap.Parse("internal/demo/datamap.yaml", dataMapYAML)
}

// Target is where the demo databases live: a directory holding one SQLite file per store,
// or a PostgreSQL database holding one schema per store.
type Target struct {
	kind config.DatabaseKind
	// dsn is the directory (SQLite) or the URL (PostgreSQL) the target was given.
	dsn string
}

// ParseTarget reads a DSR_DEMO_STORE value: "sqlite:DIRECTORY" or "postgres://…". On
// PostgreSQL each store's schema is named after the URL's search_path (or "demo") and the
// store, so that several demo companies can share a database.
func ParseTarget(raw string) (Target, error) {
	db, err := config.ParseDatabaseURL(raw)
	if err != nil {
		return Target{}, fmt.Errorf("demo stores: %w", err)
	}
	if db.Kind != config.Postgres && db.Kind != config.SQLite {
		return Target{}, fmt.Errorf("demo stores: unsupported database %s", db.Kind)
	}
	return Target{kind: db.Kind, dsn: db.DSN}, nil
}

// Connection returns how to reach one store's database.
func (t Target) Connection(store string) datamap.Connection {
	if t.kind == config.SQLite {
		return datamap.Connection{Driver: datamap.SQLite, DSN: filepath.Join(t.dsn, store+".db")}
	}
	u, _ := url.Parse(t.dsn) // ParseDatabaseURL accepted it
	q := u.Query()
	q.Set("search_path", t.Schema(store))
	u.RawQuery = q.Encode()
	return datamap.Connection{Driver: datamap.Postgres, DSN: u.String()}
}

// Schema is the PostgreSQL schema of a store.
func (t Target) Schema(store string) string {
	prefix := "demo"
	if u, err := url.Parse(t.dsn); err == nil && u.Query().Get("search_path") != "" {
		prefix = strings.Split(u.Query().Get("search_path"), ",")[0]
	}
	return prefix + "_" + strings.ReplaceAll(store, "-", "_")
}

// Schemas lists the PostgreSQL schemas of every store, for a test to drop.
func (t Target) Schemas() []string {
	var out []string
	for _, s := range storeSchemas {
		out = append(out, t.Schema(s.store))
	}
	return out
}

// Setup creates every demo database that is missing and seeds it once, then returns the
// data map with each sql store's connection pointing at its database. Seeding happens
// only in a fresh database: a restart leaves suppressed people suppressed. Several
// processes may set up at once; they take turns.
func Setup(ctx context.Context, raw string) (*datamap.Map, error) {
	t, err := ParseTarget(raw)
	if err != nil {
		return nil, err
	}
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	for _, s := range storeSchemas {
		if err := t.createAndSeed(ctx, s); err != nil {
			return nil, fmt.Errorf("demo store %s: %w", s.store, err)
		}
	}
	m, err := DataMap()
	if err != nil {
		return nil, err
	}
	for i, s := range m.Stores {
		if s.Kind == datamap.KindSQL {
			m.Stores[i].Connection = t.Connection(s.Name)
		}
	}
	return m, nil
}

// prepare makes the SQLite directory or the PostgreSQL schemas.
func (t Target) prepare(ctx context.Context) error {
	if t.kind == config.SQLite {
		if err := os.MkdirAll(t.dsn, 0o700); err != nil {
			return fmt.Errorf("demo stores: %w", err)
		}
		return nil
	}
	db, err := sqlstore.OpenDB(ctx, datamap.Connection{Driver: datamap.Postgres, DSN: t.dsn})
	if err != nil {
		return fmt.Errorf("demo stores: %w", err)
	}
	defer db.Close()
	return inTx(ctx, db, func(tx *sql.Tx) error {
		// CREATE SCHEMA IF NOT EXISTS still fails when two sessions race; take turns.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7326159)"); err != nil {
			return err
		}
		for _, schema := range t.Schemas() {
			if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
				return fmt.Errorf("demo stores: create schema: %w", err)
			}
		}
		return nil
	})
}

// Remove deletes the demo company: its SQLite files, or its PostgreSQL schemas. The next
// Setup starts over with freshly seeded people.
func (t Target) Remove(ctx context.Context) error {
	if t.kind == config.SQLite {
		for _, s := range storeSchemas {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				err := os.Remove(t.Connection(s.store).DSN + suffix)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("demo stores: %w", err)
				}
			}
		}
		return nil
	}
	db, err := sqlstore.OpenDB(ctx, datamap.Connection{Driver: datamap.Postgres, DSN: t.dsn})
	if err != nil {
		return fmt.Errorf("demo stores: %w", err)
	}
	defer db.Close()
	for _, schema := range t.Schemas() {
		if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("demo stores: drop schema: %w", err)
		}
	}
	return nil
}

// createAndSeed creates a store's tables and, when its seed marker is missing, fills them,
// in one transaction.
func (t Target) createAndSeed(ctx context.Context, s storeSchema) error {
	db, err := sqlstore.OpenDB(ctx, t.Connection(s.store))
	if err != nil {
		return err
	}
	defer db.Close()
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if t.kind == config.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7326158)"); err != nil {
				return err
			}
		}
		for _, stmt := range append(s.tables, seedMarker) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create tables: %w", err)
			}
		}
		var seeded int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM demo_seeded").Scan(&seeded); err != nil {
			return err
		}
		if seeded > 0 {
			return nil
		}
		w := &writer{ctx: ctx, tx: tx, postgres: t.kind == config.Postgres}
		s.seed(w, allPeople(), seedClock())
		w.exec("INSERT INTO demo_seeded (seeded_at) VALUES (?)", seedClock())
		if w.err != nil {
			return fmt.Errorf("seed: %w", w.err)
		}
		return nil
	})
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// writer runs the seed's inserts, keeping the first error so that the seed reads as a list.
type writer struct {
	ctx      context.Context
	tx       *sql.Tx
	postgres bool
	err      error
}

func (w *writer) exec(query string, args ...any) {
	if w.err != nil {
		return
	}
	if w.postgres {
		query = rebind(query)
	}
	_, w.err = w.tx.ExecContext(w.ctx, query, args...)
}

// rebind turns ? placeholders into PostgreSQL's $1, $2…
func rebind(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
