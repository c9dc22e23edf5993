package tlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var secret = keys.Secret([]byte("0123456789abcdef0123456789abcdef"))

// onEveryEngine runs test against a fresh, migrated PostgreSQL schema and SQLite file.
func onEveryEngine(t *testing.T, test func(t *testing.T, db *database.DB, log *tlog.Log)) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			db := testenv.OpenMigrated(t, target.URL)
			log, err := tlog.New(db, secret, "dsr.test/log")
			if err != nil {
				t.Fatal(err)
			}
			test(t, db, log)
		})
	}
}

func appendStep(t *testing.T, db *database.DB, log *tlog.Log, requestID string, m tlog.Milestone) bool {
	t.Helper()
	var stored bool
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		stored, err = log.AppendTx(tx, tlog.MilestoneStep{RequestID: requestID, Milestone: m,
			At: time.Date(2026, 12, 1, 9, 30, 15, 999, time.UTC), DueAt: time.Date(2026, 12, 31, 9, 30, 15, 0, time.UTC),
			RequestType: domain.TypeReview})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestARepeatedMilestoneIsLoggedOnce(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		got := []bool{appendStep(t, db, log, "req-1", tlog.Received), appendStep(t, db, log, "req-1", tlog.Received),
			appendStep(t, db, log, "req-1", tlog.EmailVerified)}
		if want := []bool{true, false, true}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored = %v, want %v", got, want)
		}
		es, err := log.Entries(context.Background(), 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 2 || es[0].Milestone != tlog.Received || es[1].Milestone != tlog.EmailVerified {
			t.Fatalf("entries = %+v", es)
		}
		if !es[0].At.Equal(time.Date(2026, 12, 1, 9, 30, 15, 0, time.UTC)) {
			t.Fatalf("at = %v, want to the second", es[0].At)
		}
	})
}

func TestAReceiptVerifiesOffline(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		for i := range 5 {
			appendStep(t, db, log, fmt.Sprintf("other-%d", i), tlog.Received)
		}
		appendStep(t, db, log, "req-1", tlog.Received)
		appendStep(t, db, log, "other-9", tlog.Received)
		appendStep(t, db, log, "req-1", tlog.Completed)
		r, err := log.Receipt(context.Background(), "req-1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Entry.Index != 7 || r.Entry.Milestone != tlog.Completed || r.TreeSize != 8 {
			t.Fatalf("receipt entry %d %s of %d, want the latest milestone, 7 completed of 8", r.Entry.Index, r.Entry.Milestone, r.TreeSize)
		}
		// Through JSON, as the requester keeps it.
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var kept tlog.Receipt
		if err := json.Unmarshal(raw, &kept); err != nil {
			t.Fatal(err)
		}
		if err := kept.Verify(log.VerifierKey()); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})
}

func TestAChangedByteFailsTheReceipt(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		for i := range 6 {
			appendStep(t, db, log, fmt.Sprintf("req-%d", i), tlog.Received)
		}
		good, err := log.Receipt(context.Background(), "req-2")
		if err != nil {
			t.Fatal(err)
		}
		flip := func(s string, i int) string { b := []byte(s); b[i] ^= 1; return string(b) }
		changes := map[string]func(r *tlog.Receipt){
			"entry request hash": func(r *tlog.Receipt) { r.Entry.RequestHash = flip(r.Entry.RequestHash, 3) },
			"entry milestone":    func(r *tlog.Receipt) { r.Entry.Milestone = tlog.Completed },
			"entry time":         func(r *tlog.Receipt) { r.Entry.At = r.Entry.At.Add(time.Second) },
			"entry due date":     func(r *tlog.Receipt) { r.Entry.DueAt = r.Entry.DueAt.Add(-time.Hour) },
			"entry type":         func(r *tlog.Receipt) { r.Entry.RequestType = domain.TypeSuppress },
			"entry index":        func(r *tlog.Receipt) { r.Entry.Index++ },
			"proof":              func(r *tlog.Receipt) { r.InclusionProof[0][5] ^= 1 },
			"checkpoint root":    func(r *tlog.Receipt) { r.Checkpoint = flip(r.Checkpoint, strings.Index(r.Checkpoint, "\n6\n")+4) },
			"checkpoint size":    func(r *tlog.Receipt) { r.Checkpoint = strings.Replace(r.Checkpoint, "\n6\n", "\n7\n", 1) },
			"signature":          func(r *tlog.Receipt) { r.Checkpoint = flip(r.Checkpoint, len(r.Checkpoint)-5) },
			"request secret":     func(r *tlog.Receipt) { r.RequestSecret = flip(r.RequestSecret, 0) },
			"request ID":         func(r *tlog.Receipt) { r.RequestID = "req-3" },
		}
		for name, change := range changes {
			r := good
			r.InclusionProof = make([][]byte, len(good.InclusionProof))
			for i, h := range good.InclusionProof {
				r.InclusionProof[i] = append([]byte(nil), h...)
			}
			change(&r)
			if err := r.Verify(log.VerifierKey()); err == nil {
				t.Errorf("a changed %s verified", name)
			}
		}
		other, err := tlog.New(db, keys.Secret([]byte("another secret of thirty-two b.")), "dsr.test/log")
		if err != nil {
			t.Fatal(err)
		}
		if err := good.Verify(other.VerifierKey()); err == nil {
			t.Error("the receipt verified with another log's key")
		}
	})
}

func TestConcurrentAppendsKeepAConsistentTree(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		ctx := context.Background()
		appendStep(t, db, log, "first", tlog.Received)
		first := checkpoint(t, log)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 5 {
					err := db.Transaction(func(tx *gorm.DB) error {
						_, err := log.AppendTx(tx, tlog.MilestoneStep{RequestID: fmt.Sprintf("w%d-%d", w, i),
							Milestone: tlog.Received, At: time.Now(), DueAt: time.Now(), RequestType: domain.TypeRestrict})
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		last := checkpoint(t, log)
		if last.Size != 21 {
			t.Fatalf("size = %d, want 21", last.Size)
		}
		p, err := log.ConsistencyProof(ctx, first.Size, last.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, first.Size, last.Size, p, first.Root, last.Root); err != nil {
			t.Fatalf("consistency: %v", err)
		}
		es, err := log.Entries(ctx, 0, last.Size)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if e.Index != uint64(i) {
				t.Fatalf("entry %d has index %d", i, e.Index)
			}
			leaf, err := e.LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			p, err := log.InclusionProof(ctx, e.Index, last.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.Index, last.Size, leaf, p, last.Root); err != nil {
				t.Fatalf("inclusion of %d: %v", i, err)
			}
		}
	})
}

func checkpoint(t *testing.T, log *tlog.Log) tlog.Checkpoint {
	t.Helper()
	signed, err := log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.OpenCheckpoint(signed, log.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAMilestoneReceiptNamesThatMilestoneAndVerifiesAgainstTheLatestCheckpoint(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		appendStep(t, db, log, "req-1", tlog.Received)
		appendStep(t, db, log, "req-2", tlog.Received)
		appendStep(t, db, log, "req-1", tlog.EmailVerified)
		r, err := log.MilestoneReceipt(context.Background(), "req-1", tlog.Received)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(log.VerifierKey()); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if r.Entry.Milestone != tlog.Received || r.Entry.Index != 0 || r.TreeSize != 3 {
			t.Fatalf("receipt of %s at %d in %d entries, want received at 0 in 3", r.Entry.Milestone, r.Entry.Index, r.TreeSize)
		}
		_, err = log.MilestoneReceipt(context.Background(), "req-2", tlog.Completed)
		if err == nil || domain.AsError(err).Code != domain.CodeNotFound {
			t.Errorf("receipt of a milestone not logged: %v, want not found", err)
		}
		_, err = log.MilestoneReceipt(context.Background(), "req-1", "code_sent")
		if err == nil || domain.AsError(err).Code != domain.CodeInvalid {
			t.Errorf("receipt of a step that is no milestone: %v, want invalid", err)
		}
	})
}
