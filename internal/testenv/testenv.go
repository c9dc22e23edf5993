// Package testenv gives tests real dependencies: a fresh PostgreSQL schema or SQLite file per
// test, migrated on request. PostgreSQL comes from DATABASE_URL, else 127.0.0.1:5432, else a
// throw-away cluster started from the local PostgreSQL binaries. Tests that need it fail
// loudly when none of that works; they never skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsr-project/dsr/internal/database"
)

// Main runs a package's tests and then stops a throw-away cluster if one was started.
// Packages that use Postgres call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// postgresServer finds or starts a PostgreSQL server once per test process and returns a
// URL to a database the tests may create schemas in.
func postgresServer() (string, error) {
	serverOnce.Do(func() {
		defer func() {
			if serverErr == nil {
				fmt.Fprintf(os.Stderr, "testenv: using %s\n", describe(serverURL))
			}
		}()
		if u := os.Getenv("DATABASE_URL"); u != "" {
			serverURL, serverErr = u, ping(u)
			if serverErr != nil {
				serverErr = fmt.Errorf("DATABASE_URL is set but unreachable: %w", serverErr)
			}
			return
		}
		local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3"
		if ping(local) == nil {
			serverURL, serverErr = ensureDatabase(local, "dsr_test")
			return
		}
		clusterURL, err := startCluster()
		if err != nil {
			serverErr = fmt.Errorf("no PostgreSQL for tests: DATABASE_URL is unset, 127.0.0.1:5432 does not answer, and a throw-away cluster could not start: %w", err)
			return
		}
		serverURL, serverErr = ensureDatabase(clusterURL, "dsr_test")
	})
	return serverURL, serverErr
}

// describe names the server for the test log without credentials.
func describe(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Host + u.Path
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// ensureDatabase creates name on the server of adminURL unless it exists, and returns its URL.
func ensureDatabase(adminURL, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	// Several test binaries run at once; losing the race to create it is fine.
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || !exists {
				return "", fmt.Errorf("create database %s: %w", name, err)
			}
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// PostgresURL returns a DATABASE_URL whose search_path is a new, empty schema that is
// dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base, err := postgresServer()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	schema := "t_" + randomHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testenv: connect to postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testenv: create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("testenv: drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema: %v", err)
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteURL returns a DATABASE_URL for a new SQLite file in the test's temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "dsr.db")
}

// Database is one engine's fresh database for a test.
type Database struct {
	Name string
	URL  string
}

// Databases returns a fresh PostgreSQL schema and a fresh SQLite file, so store tests can
// run the same assertions against both engines.
func Databases(t testing.TB) []Database {
	return []Database{{"postgres", PostgresURL(t)}, {"sqlite", SQLiteURL(t)}}
}

// OpenMigrated opens the database at url with every migration applied, closed at test end.
func OpenMigrated(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.OpenMigrated(context.Background(), url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
