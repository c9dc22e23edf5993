// Package database opens the application database (PostgreSQL or an embedded SQLite file)
// and applies its versioned migrations.
package database

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"time"

	"github.com/libtnb/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/dsr-project/dsr/internal/config"
)

//go:embed migrations
var migrations embed.FS

// DB is the application database with the engine it runs on.
type DB struct {
	*gorm.DB
	Kind config.DatabaseKind
}

// Open connects to the database a DATABASE_URL names and checks that it answers.
// It does not migrate; see Migrate.
func Open(ctx context.Context, raw string) (*DB, error) {
	target, err := config.ParseDatabaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var dialector gorm.Dialector
	switch target.Kind {
	case config.Postgres:
		dialector = postgres.Open(target.DSN)
	case config.SQLite:
		dialector = sqlite.Open(sqliteDSN(target.DSN))
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", target.Kind, err)
	}
	db := &DB{DB: gdb, Kind: target.Kind}
	if err := limitConnections(db); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteDSN adds the pragmas every connection needs: WAL so readers never wait for the
// writer, a busy timeout so concurrent writers queue instead of failing, and foreign keys.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// postgresConnections bounds each process's PostgreSQL pool. Unbounded, an API under a
// burst of 32 intakes beside a busy worker opened a connection per waiting query and met the
// server's max_connections (100 by default, shared with the Temporal server), answering 503;
// queueing in the process for one of 16 costs a few milliseconds at most.
const postgresConnections = 16

// limitConnections bounds a PostgreSQL pool (see postgresConnections). A SQLite pool stays
// unbounded: one connection per process, tried to spare writers the busy handler's sleeps,
// measured no faster at intake (docs/benchmarks.md).
func limitConnections(db *DB) error {
	if db.Kind != config.Postgres {
		return nil
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return fmt.Errorf("open %s database: %w", db.Kind, err)
	}
	// Keep a few between bursts, and give them back when quiet: many processes share the
	// server.
	sqlDB.SetMaxOpenConns(postgresConnections)
	sqlDB.SetMaxIdleConns(4)
	sqlDB.SetConnMaxIdleTime(time.Minute)
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// Close releases the connection pool.
func (db *DB) Close() {
	if sqlDB, err := db.DB.DB(); err == nil {
		sqlDB.Close()
	}
}

// Migrate applies every pending migration for the database's engine and logs each one.
func Migrate(ctx context.Context, db *DB, log *slog.Logger) error {
	provider, err := newProvider(db)
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s database: %w", db.Kind, err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// OpenMigrated opens the database and applies pending migrations, as `dsr dev`, `dsr
// migrate` and the tests do.
func OpenMigrated(ctx context.Context, raw string, log *slog.Logger) (*DB, error) {
	db, err := Open(ctx, raw)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Pending lists the versions not yet applied, so `dsr api` and `dsr worker` can refuse to
// run against a schema older than their code.
func Pending(ctx context.Context, db *DB) ([]int64, error) {
	provider, err := newProvider(db)
	if err != nil {
		return nil, err
	}
	status, err := provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	var pending []int64
	for _, s := range status {
		if s.State == goose.StatePending {
			pending = append(pending, s.Source.Version)
		}
	}
	return pending, nil
}

func newProvider(db *DB) (*goose.Provider, error) {
	dialect := goose.DialectPostgres
	if db.Kind == config.SQLite {
		dialect = goose.DialectSQLite3
	}
	dir, err := fs.Sub(migrations, "migrations/"+string(db.Kind))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return goose.NewProvider(dialect, sqlDB, dir)
}
