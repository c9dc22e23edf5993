package main

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

// logServer serves a transparency log on db through the real API.
func logServer(t *testing.T, db *database.DB) (*tlog.Log, string) {
	t.Helper()
	secret := keys.Secret([]byte("0123456789abcdef0123456789abcdef"))
	log, err := tlog.New(db, secret, "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Requests: requestdb.New(db), Secret: secret, TransparencyLog: log}).Handler())
	t.Cleanup(srv.Close)
	return log, srv.URL
}

func appendMilestones(t *testing.T, db *database.DB, log *tlog.Log, ids ...string) {
	t.Helper()
	for _, id := range ids {
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := log.AppendTx(tx, tlog.MilestoneStep{RequestID: id, Milestone: tlog.Received,
				At: time.Now(), DueAt: time.Now().AddDate(0, 1, 0), RequestType: domain.TypeReview})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogVerifyDetectsALogRewrittenBehindTheMonitorsBack(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			db := testenv.OpenMigrated(t, target.URL)
			log, url := logServer(t, db)
			state := filepath.Join(t.TempDir(), "checkpoint")
			verify := func() (string, error) {
				var out syncBuffer
				err := run(context.Background(), []string{"log", "verify", "--url", url, "--public-key", log.VerifierKey(), "--state", state}, &out, &out)
				return out.String(), err
			}
			appendMilestones(t, db, log, "a", "b", "c")
			if out, err := verify(); err != nil || !strings.Contains(out, "has 3 entries") {
				t.Fatalf("first check: err = %v, output %q", err, out)
			}
			appendMilestones(t, db, log, "d", "e")
			if out, err := verify(); err != nil || !strings.Contains(out, "has 5 entries, consistent") {
				t.Fatalf("grown log: err = %v, output %q", err, out)
			}

			// Someone with the database rewrites entry 1 and its leaf hash, so that the entries
			// and the new checkpoint agree: only the checkpoint seen before can tell.
			if db.Kind == config.Postgres {
				mustExec(t, db, "ALTER TABLE tlog_entries DISABLE TRIGGER tlog_entries_append_only")
			} else {
				mustExec(t, db, "DROP TRIGGER tlog_entries_no_update")
			}
			es, err := log.Entries(context.Background(), 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			altered := es[0]
			altered.At = altered.At.Add(-48 * time.Hour)
			leaf, err := altered.LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			mustExec(t, db, "UPDATE tlog_entries SET at = ?, leaf_hash = ? WHERE idx = 1", altered.At, hex.EncodeToString(leaf))
			if _, err := verify(); err == nil || !strings.Contains(err.Error(), "consistency") {
				t.Fatalf("rewritten log: err = %v, want a consistency failure", err)
			}

			// An entry changed without its leaf hash no longer matches the checkpoint.
			mustExec(t, db, "UPDATE tlog_entries SET milestone = 'completed' WHERE idx = 3")
			if _, err := verify(); err == nil || !strings.Contains(err.Error(), "do not hash to the checkpoint") {
				t.Fatalf("altered entry: err = %v, want the root mismatch named", err)
			}
		})
	}
}

func mustExec(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatal(err)
	}
}

// The key the CLI prints is the key the server serves, so an operator can publish it
// through another channel and a monitor can check the server against it.
func TestLogPublicKeyPrintsTheKeyTheServerServes(t *testing.T) {
	for _, env := range []string{"DSR_SECRET_KEY", "DSR_PUBLIC_URL", "DSR_HTTP_ADDR", "DSR_DATA_DIR", "DATABASE_URL"} {
		t.Setenv(env, "")
	}
	db := testenv.OpenMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "dsr.db"))
	secret := keys.Secret([]byte("0123456789abcdef0123456789abcdef"))
	dir := t.TempDir()
	devSecret, err := keys.LoadOrCreate(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		secret keys.Secret
		origin string
		args   []string
	}{
		{"deployment", secret, "dsr.test/log", []string{"--database-url", "postgres://elsewhere/dsr",
			"--secret-key", hex.EncodeToString(secret), "--public-url", "https://dsr.test"}},
		{"dev data directory", devSecret, "127.0.0.1:8099/log", []string{"--data-dir", dir, "--http", "127.0.0.1:8099"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, err := tlog.New(db, tc.secret, tc.origin)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(api.New(api.Options{Requests: requestdb.New(db), Secret: tc.secret, TransparencyLog: log}).Handler())
			defer srv.Close()
			res, err := http.Get(srv.URL + "/api/v1/log/public-key")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			served, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("GET public-key: %d %v", res.StatusCode, err)
			}
			var out, errOut syncBuffer
			if err := run(context.Background(), append([]string{"log", "public-key"}, tc.args...), &out, &errOut); err != nil {
				t.Fatalf("log public-key: %v\n%s", err, errOut.String())
			}
			if got, want := out.String(), string(served); got != want {
				t.Errorf("printed %q, the server serves %q", got, want)
			}
		})
	}
}

func TestLogPublicKeyWantsThePublicURLWithADatabaseURL(t *testing.T) {
	t.Setenv("DSR_PUBLIC_URL", "")
	var out syncBuffer
	err := run(context.Background(), []string{"log", "public-key", "--database-url", "postgres://elsewhere/dsr",
		"--secret-key", strings.Repeat("5e", 32)}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "DSR_PUBLIC_URL") {
		t.Errorf("err = %v, want the public URL asked for", err)
	}
}
