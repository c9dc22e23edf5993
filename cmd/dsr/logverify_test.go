package main

import (
	"context"
	"encoding/hex"
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
