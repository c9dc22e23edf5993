package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// OpenDB connects to a sql store's database, with the DSN from the environment when the
// map names a variable, and checks that it answers. MySQL DSNs get parseTime and UTC, so
// that dates come back as times; SQLite files get a busy timeout and immediate write locks,
// so that concurrent requests queue instead of failing.
func OpenDB(ctx context.Context, c datamap.Connection) (*sql.DB, error) {
	dsn, err := c.ResolveDSN(nil)
	if err != nil {
		return nil, err
	}
	var driver string
	switch c.Driver {
	case datamap.Postgres:
		driver = "pgx"
	case datamap.MySQL:
		driver = "mysql"
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("mysql DSN: %w", err)
		}
		cfg.ParseTime, cfg.Loc = true, time.UTC
		dsn = cfg.FormatDSN()
	case datamap.SQLite:
		driver = "sqlite"
		dsn = sqliteDSN(dsn)
	default:
		return nil, fmt.Errorf("unknown driver %q", c.Driver)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", c.Driver, err)
	}
	// A company has many stores and runs many workers, and every worker keeps a pool per
	// store: bound each pool and let idle connections go, so the stores' databases are not
	// crowded by connections that wait for the next request.
	db.SetMaxOpenConns(maxStoreConnections)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s database unreachable: %w", c.Driver, sanitise(err))
	}
	return db, nil
}

// maxStoreConnections bounds one worker's connections to one store: a fan-out uses one
// per request in flight, and a transaction per request holds it briefly.
const maxStoreConnections = 8

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode()
}

// Open connects to the store's database and returns its connector; close the database
// when the connector is no longer used. A SQLite file that does not exist is refused:
// opening it would create an empty database in which every request finds nothing.
func Open(ctx context.Context, s datamap.Store, opts ...Option) (connector.Connector, *sql.DB, error) {
	if s.Kind != datamap.KindSQL {
		return nil, nil, fmt.Errorf("store %q is a %s store, not sql", s.Name, s.Kind)
	}
	if err := sqliteFileExists(s.Connection); err != nil {
		return nil, nil, fmt.Errorf("store %q: %w", s.Name, err)
	}
	db, err := OpenDB(ctx, s.Connection)
	if err != nil {
		return nil, nil, fmt.Errorf("store %q: %w", s.Name, err)
	}
	return New(s, db, opts...), db, nil
}

// sqliteFileExists refuses a SQLite store whose file is missing; an in-memory database
// is taken as asked for.
func sqliteFileExists(c datamap.Connection) error {
	if c.Driver != datamap.SQLite {
		return nil
	}
	dsn, err := c.ResolveDSN(nil)
	if err != nil {
		return err
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("SQLite file %s does not exist", path)
	} else if err != nil {
		return fmt.Errorf("SQLite file: %w", err)
	}
	return nil
}

// OpenAll opens every sql store of the map, in map order, and checks each against its
// database's catalog (CheckSchema); close closes their databases. Problems come back
// together as datamap.Errors, one line each at the line of the map to fix (a store that
// cannot be opened at the store's line), and then nothing stays open.
func OpenAll(ctx context.Context, m *datamap.Map, opts ...Option) (conns []connector.Connector, close func() error, err error) {
	var dbs []*sql.DB
	close = func() error {
		var errs []error
		for _, db := range dbs {
			errs = append(errs, db.Close())
		}
		return errors.Join(errs...)
	}
	var problems datamap.Errors
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL {
			continue
		}
		c, db, err := Open(ctx, s, opts...)
		if err != nil {
			problems = append(problems, datamap.Problem{File: m.File, Line: s.Line, Message: err.Error()})
			continue
		}
		conns, dbs = append(conns, c), append(dbs, db)
		found, err := CheckSchema(ctx, db, m.File, s)
		if err != nil {
			found = datamap.Errors{{File: m.File, Line: s.Line, Message: err.Error()}}
		}
		problems = append(problems, found...)
	}
	if len(problems) > 0 {
		close()
		slices.SortStableFunc(problems, func(a, b datamap.Problem) int { return a.Line - b.Line })
		return nil, nil, problems
	}
	return conns, close, nil
}

// sanitise drops the message of a MySQL error, which may quote the values of a row (a
// duplicate entry names the address), and keeps its number.
func sanitise(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Errorf("mysql error %d", me.Number)
	}
	return err
}
