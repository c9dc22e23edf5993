package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/tlog"
)

// logMilestones appends the seeded requests' milestones, r2's between r1's, so that r1's
// entries are not the whole log.
func logMilestones(t *testing.T, db *database.DB) *tlog.Log {
	t.Helper()
	log, err := tlog.New(db, keys.Secret([]byte("0123456789abcdef0123456789abcdef")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		request   string
		milestone tlog.Milestone
	}{{"r1", tlog.Received}, {"r2", tlog.Received}, {"r1", tlog.EmailVerified}, {"r2", tlog.Cancelled}, {"r1", tlog.Completed}} {
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := log.AppendTx(tx, tlog.MilestoneStep{RequestID: s.request, Milestone: s.milestone,
				At: day, DueAt: day.AddDate(0, 1, 0), RequestType: domain.TypeCorrect})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return log
}

// The bundle's transparency.json holds each of the request's log entries with a proof that
// checks, offline, against the signed checkpoint it carries; the manifest covers it.
func TestBundleEntriesVerifyAgainstTheLogsCheckpoint(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key, log := seed(t, db), newKey(t), logMilestones(t, db)
		deps := audit.ExportDeps{Requests: repo, History: historyOf, Signer: key, TransparencyLog: log}
		bundle, err := audit.Export(context.Background(), deps, "r1", audit.ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.VerifyBundle(bundle, key.Public().(ed25519.PublicKey)); err != nil {
			t.Fatal(err)
		}
		files := unzip(t, bundle)
		if !strings.Contains(string(files["manifest.json"]), `"transparency.json"`) {
			t.Errorf("the manifest does not list transparency.json:\n%s", files["manifest.json"])
		}
		var ev tlog.RequestEvidence
		if err := json.Unmarshal(files["transparency.json"], &ev); err != nil {
			t.Fatal(err)
		}
		if err := ev.Verify(log.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		var got []tlog.Milestone
		for _, pe := range ev.Entries {
			got = append(got, pe.Entry.Milestone)
		}
		if want := []tlog.Milestone{tlog.Received, tlog.EmailVerified, tlog.Completed}; ev.TreeSize != 5 || !slices.Equal(got, want) {
			t.Errorf("entries %v in a tree of %d, want %v in the tree of 5", got, ev.TreeSize, want)
		}
		if leaked := found(string(files["transparency.json"]), []string{address, newAddress, reviewValue, oldAddress, keptOrder}); len(leaked) > 0 {
			t.Errorf("transparency.json holds %q", leaked)
		}

		altered := ev
		altered.Entries = append([]tlog.ProvenEntry(nil), ev.Entries...)
		altered.Entries[2].Entry.Milestone = tlog.Denied
		if err := altered.Verify(log.VerifierKey()); err == nil {
			t.Error("an altered entry verified")
		}
		other, err := tlog.VerifierKey(keys.Secret([]byte("another secret of thirty-two b..")), "dsr.test/log")
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Verify(other); err == nil {
			t.Error("the checkpoint verified against another log's key")
		}
	})
}

// Verifying a bundle checks its transparency.json: the checkpoint is signed by the log's
// key (the trusted one, or else the one the evidence carries, which the report says), and
// each milestone is included in its tree. Evidence of another log, or of entries altered in
// the database before the export, fails and names the file, though the bundle is signed.
func TestBundleVerificationChecksTheLogEvidence(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key, log := seed(t, db), newKey(t), logMilestones(t, db)
		signer := key.Public().(ed25519.PublicKey)
		exportWith := func(l *tlog.Log) []byte {
			t.Helper()
			bundle, err := audit.Export(context.Background(), audit.ExportDeps{Requests: repo, History: historyOf, Signer: key, TransparencyLog: l}, "r1", audit.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return bundle
		}
		bundle := exportWith(log)
		rep, err := audit.VerifyBundleTrusting(bundle, audit.Trust{Signer: signer, LogKey: log.VerifierKey()})
		want := audit.LogReport{Entries: 3, TreeSize: 5, Origin: "dsr.test/log", LogKey: log.VerifierKey(), KeyTrusted: true}
		if err != nil || rep.Log == nil || *rep.Log != want {
			t.Fatalf("report %+v, %v; want the log part %+v", rep.Log, err, want)
		}
		rep, err = audit.VerifyBundle(bundle, signer)
		if err != nil || rep.Log == nil || rep.Log.KeyTrusted || rep.Log.LogKey != log.VerifierKey() {
			t.Fatalf("without a log key: report %+v, %v; want the carried key, untrusted", rep.Log, err)
		}

		other, err := tlog.New(db, keys.Secret([]byte("another secret of thirty-two b..")), "dsr.test/log")
		if err != nil {
			t.Fatal(err)
		}
		_, err = audit.VerifyBundleTrusting(exportWith(other), audit.Trust{Signer: signer, LogKey: log.VerifierKey()})
		if !errors.Is(err, audit.ErrBundleInvalid) || !strings.Contains(err.Error(), "transparency.json") {
			t.Errorf("another log's evidence: err = %v, want transparency.json named", err)
		}

		// r1's second milestone is rewritten in the database, its leaf hash left alone.
		if db.Kind == config.Postgres {
			mustExec(t, db, "ALTER TABLE tlog_entries DISABLE TRIGGER tlog_entries_append_only")
		} else {
			mustExec(t, db, "DROP TRIGGER tlog_entries_no_update")
		}
		mustExec(t, db, "UPDATE tlog_entries SET milestone = 'denied' WHERE idx = 2")
		_, err = audit.VerifyBundleTrusting(exportWith(log), audit.Trust{Signer: signer, LogKey: log.VerifierKey()})
		if !errors.Is(err, audit.ErrBundleInvalid) || !strings.Contains(err.Error(), "transparency.json") || !strings.Contains(err.Error(), "entry 2") {
			t.Errorf("altered entry: err = %v, want transparency.json and entry 2 named", err)
		}
	})
}

func mustExec(t *testing.T, db *database.DB, sql string) {
	t.Helper()
	if err := db.Exec(sql).Error; err != nil {
		t.Fatal(err)
	}
}
