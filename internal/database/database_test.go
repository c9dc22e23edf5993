package database_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrationsApplyOnceOnEveryEngine(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, target.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			pending, err := database.Pending(ctx, db)
			if err != nil || len(pending) == 0 {
				t.Fatalf("before migrating: pending = %v, %v; want every migration pending", pending, err)
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			for range 2 {
				if err := database.Migrate(ctx, db, quiet); err != nil {
					t.Fatal(err)
				}
			}
			pending, err = database.Pending(ctx, db)
			if err != nil || len(pending) != 0 {
				t.Fatalf("after migrating: pending = %v, %v; want none", pending, err)
			}
			if !db.Migrator().HasTable("self_checks") {
				t.Error("self_checks table missing after migration")
			}
		})
	}
}

func TestOpenReportsAnUnreachablePostgres(t *testing.T) {
	_, err := database.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}

// A PostgreSQL pool is bounded, so a burst queues in the process instead of taking the
// server's last connections.
func TestPostgresPoolIsBounded(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.PostgresURL(t))
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := sqlDB.Stats().MaxOpenConnections; got <= 0 || got > 32 {
		t.Fatalf("max open connections = %d, want a bound of at most 32", got)
	}
}
