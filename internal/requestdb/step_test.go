package requestdb_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func step(seq int64, status domain.Status, assignee string) requestdb.Step {
	return requestdb.Step{
		RequestID: "r1", Seq: seq,
		Event: requestdb.AuditEvent{At: at(2), Actor: "system", Action: "move", ToStatus: string(status)},
		Patch: requestdb.Patch{Status: &status, Assignee: &assignee},
	}
}

func TestApplyStepTwiceRecordsOneEventAndPatchesOnce(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		first := step(1, domain.StatusInProgress, "alice")
		if _, err := repo.ApplyStep(ctx, first); err != nil {
			t.Fatal(err)
		}
		applied, err := repo.GetRequest(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.ApplyStep(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := repo.GetRequest(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != domain.StatusInProgress || got.Assignee != "alice" || got.StepSeq != 1 {
			t.Errorf("after step 1: status %s, assignee %q, seq %d", got.Status, got.Assignee, got.StepSeq)
		}
		if !got.UpdatedAt.Equal(applied.UpdatedAt) {
			t.Errorf("retry moved UpdatedAt from %v to %v", applied.UpdatedAt, got.UpdatedAt)
		}
		events, err := repo.AuditEvents(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].ID != "r1:1" || events[0].At != kept(at(2)) {
			t.Errorf("events = %+v, want one r1:1", events)
		}
	})
}

func TestApplyStepReportsWhatItStoredAndTheTimeInTheStatusLeft(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1") // received at(1)
		move := func(seq int64, day int, from, to domain.Status) requestdb.Step {
			return requestdb.Step{RequestID: "r1", Seq: seq, Event: requestdb.AuditEvent{
				At: at(day), Action: "move", FromStatus: string(from), ToStatus: string(to)}}
		}
		for _, c := range []struct {
			step requestdb.Step
			want requestdb.Applied
		}{
			// The first status change measures from the receipt.
			{move(1, 3, domain.StatusReceived, domain.StatusInProgress), requestdb.Applied{Stored: true, Type: domain.TypeReview,
				From: domain.StatusReceived, To: domain.StatusInProgress, At: kept(at(3)), TimeInFrom: 48 * time.Hour}},
			// A retry stores nothing.
			{move(1, 3, domain.StatusReceived, domain.StatusInProgress), requestdb.Applied{Type: domain.TypeReview,
				From: domain.StatusReceived, To: domain.StatusInProgress, At: kept(at(3))}},
			// A step that keeps the status is stored but is no transition.
			{move(2, 4, domain.StatusInProgress, domain.StatusInProgress), requestdb.Applied{Stored: true, Type: domain.TypeReview,
				From: domain.StatusInProgress, To: domain.StatusInProgress, At: kept(at(4))}},
			// The next change measures from the previous change, not from the step between.
			{move(3, 8, domain.StatusInProgress, domain.StatusCompleted), requestdb.Applied{Stored: true, Type: domain.TypeReview,
				From: domain.StatusInProgress, To: domain.StatusCompleted, At: kept(at(8)), TimeInFrom: 5 * 24 * time.Hour}},
		} {
			got, err := repo.ApplyStep(ctx, c.step)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("step %d: applied %+v\nwant %+v", c.step.Seq, got, c.want)
			}
			if got.Transition() != (c.want.Stored && c.want.From != c.want.To) {
				t.Errorf("step %d: Transition() = %v", c.step.Seq, got.Transition())
			}
		}
	})
}

func TestApplyStepIgnoresAnOlderStep(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		for _, s := range []requestdb.Step{
			step(1, domain.StatusInProgress, "alice"),
			step(2, domain.StatusCompleted, "bob"),
			step(1, domain.StatusNeedsAttention, "carol"), // late retry with other data
		} {
			if _, err := repo.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		got, err := repo.GetRequest(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != domain.StatusCompleted || got.Assignee != "bob" || got.StepSeq != 2 {
			t.Errorf("status %s, assignee %q, seq %d; want completed, bob, 2", got.Status, got.Assignee, got.StepSeq)
		}
		if got.Email != "someone@example.com" || got.DueAt.IsZero() {
			t.Error("a patch changed fields it did not set")
		}
		events, err := repo.AuditEvents(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Seq != 1 || events[1].Seq != 2 || events[0].ToStatus != "in_progress" {
			t.Errorf("events = %+v, want steps 1 (in_progress) and 2 in order", events)
		}
	})
}

func TestApplyStepReportsAMissingRequest(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		_, err := requestdb.New(db).ApplyStep(context.Background(), step(1, domain.StatusInProgress, ""))
		if !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func stepOf(requestID string, seq int64) requestdb.Step {
	s := step(seq, domain.StatusInProgress, "alice")
	s.RequestID = requestID
	s.Event.Details = `["note"]`
	return s
}

// chain reads the whole audit chain in order.
func chain(t *testing.T, repo *requestdb.Repo) []requestdb.AuditEvent {
	t.Helper()
	events, err := repo.ChainEvents(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// checkLinked fails unless events are positions 1..n, each linked to the one before and
// hashed over its contents, and the head names the last.
func checkLinked(t *testing.T, repo *requestdb.Repo, events []requestdb.AuditEvent) {
	t.Helper()
	prev := ""
	for i, e := range events {
		if e.ChainSeq != int64(i+1) || e.PrevHash != prev || e.Hash != e.ChainHash() || len(e.Hash) != 64 {
			t.Fatalf("event %d = %s at position %d, prev %q, hash %q; want position %d after %q, hash %q",
				i, e.ID, e.ChainSeq, e.PrevHash, e.Hash, i+1, prev, e.ChainHash())
		}
		prev = e.Hash
	}
	head, err := repo.ChainHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.ChainSeq != int64(len(events)) || head.Hash != prev {
		t.Errorf("head = %+v, want position %d hash %q", head, len(events), prev)
	}
}

func TestApplyStepLinksEveryEventOfEveryRequestIntoOneChain(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		mustCreate(t, repo, "r2")
		for _, s := range []requestdb.Step{stepOf("r1", 1), stepOf("r2", 1), stepOf("r1", 2), stepOf("r2", 2)} {
			if _, err := repo.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		events := chain(t, repo)
		var ids []string
		for _, e := range events {
			ids = append(ids, e.ID)
		}
		if want := []string{"r1:1", "r2:1", "r1:2", "r2:2"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("chain = %v, want %v", ids, want)
		}
		checkLinked(t, repo, events)
		got, err := repo.AuditEvents(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got[1] != events[2] {
			t.Errorf("AuditEvents gives %+v, chain gives %+v", got[1], events[2])
		}
	})
}

func TestRepeatedStepAppendsNothingToTheChain(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		for _, s := range []requestdb.Step{stepOf("r1", 1), stepOf("r1", 2), stepOf("r1", 1), stepOf("r1", 2)} {
			if _, err := repo.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		events := chain(t, repo)
		if len(events) != 2 {
			t.Fatalf("chain has %d events, want 2", len(events))
		}
		checkLinked(t, repo, events)
	})
}

func TestConcurrentStepsFormOneUnbrokenChain(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		const requests, steps = 6, 5
		for r := range requests {
			mustCreate(t, repo, fmt.Sprintf("r%d", r))
		}
		var wg sync.WaitGroup
		stored := make(chan bool, requests*steps*2)
		errs := make(chan error, requests*steps*2)
		for r := range requests {
			for range 2 { // every step twice, as a retried activity would
				wg.Go(func() {
					for s := range steps {
						applied, err := repo.ApplyStep(ctx, stepOf(fmt.Sprintf("r%d", r), int64(s+1)))
						stored <- applied.Stored
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		close(stored)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		events := chain(t, repo)
		if len(events) != requests*steps {
			t.Fatalf("chain has %d events, want %d", len(events), requests*steps)
		}
		n := 0
		for s := range stored {
			if s {
				n++
			}
		}
		if n != requests*steps {
			t.Errorf("%d applications reported storing their step, want one per step, %d", n, requests*steps)
		}
		checkLinked(t, repo, events)
	})
}

func TestDatabaseRefusesToRewriteAuditEvents(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		if _, err := repo.ApplyStep(ctx, stepOf("r1", 1)); err != nil {
			t.Fatal(err)
		}
		statements := []string{
			`UPDATE audit_events SET details = '["forged"]' WHERE id = 'r1:1'`,
			`DELETE FROM audit_events WHERE id = 'r1:1'`,
		}
		if db.Kind == config.Postgres {
			statements = append(statements, `TRUNCATE audit_events`)
		}
		for _, sql := range statements {
			err := db.WithContext(ctx).Exec(sql).Error
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want refused as append-only", sql, err)
			}
		}
		events := chain(t, repo)
		if len(events) != 1 || events[0].Details != `["note"]` {
			t.Errorf("events = %+v, want the original one", events)
		}
	})
}

// The canonical form is a published format: auditors recompute it with their own tools, so
// this known answer must only change together with ChainFormat.
func TestChainHashIsTheDocumentedCanonicalForm(t *testing.T) {
	e := requestdb.AuditEvent{
		ID: "r1:2", RequestID: "r1", Seq: 2, At: time.Date(2026, 3, 1, 8, 30, 15, 123456000, time.UTC),
		Actor: "alice", Role: "analyst", Action: "approve", FromStatus: "in_review", ToStatus: "approved",
		Details: `["ok"]`, ChainSeq: 7, PrevHash: strings.Repeat("ab", 32),
	}
	var form []byte
	for _, f := range []string{requestdb.ChainFormat, "7", "r1:2", "r1", "2", "2026-03-01T08:30:15.123456Z",
		"alice", "analyst", "approve", "in_review", "approved", `["ok"]`, strings.Repeat("ab", 32)} {
		form = binary.BigEndian.AppendUint64(form, uint64(len(f)))
		form = append(form, f...)
	}
	sum := sha256.Sum256(form)
	if got, want := e.ChainHash(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ChainHash = %s, want %s", got, want)
	}
	moved := e
	moved.Actor, moved.Role = "alicean", "alyst" // same bytes, other boundary
	if moved.ChainHash() == e.ChainHash() {
		t.Error("moving a field boundary kept the hash")
	}
}

// Events stored before the chain existed stay readable and outside it, and the first step
// after the migration starts the chain.
func TestChainMigrationAcceptsATableWithEvents(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, target.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			migrateTo(t, db, 5)
			err = db.Exec(`INSERT INTO requests (id, type, jurisdiction, status, email, email_hash, received_at, due_at, original_due_at, updated_at)
				VALUES ('old', 'review', 'gdpr', 'received', 'a@example.com', 'h', ?, ?, ?, ?)`, at(1), at(2), at(2), at(1)).Error
			if err != nil {
				t.Fatal(err)
			}
			err = db.Exec(`INSERT INTO audit_events (id, request_id, seq, at, action) VALUES ('old:1', 'old', 1, ?, 'received')`, at(1)).Error
			if err != nil {
				t.Fatal(err)
			}
			if err := database.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				t.Fatal(err)
			}
			repo := requestdb.New(db)
			if _, err := repo.ApplyStep(ctx, stepOf("old", 2)); err != nil {
				t.Fatal(err)
			}
			events, err := repo.AuditEvents(ctx, "old")
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[0].ChainSeq != 0 || events[0].Hash != "" || events[1].ChainSeq != 1 || events[1].PrevHash != "" {
				t.Errorf("events = %+v, want the old one unchained and the new one first in the chain", events)
			}
			if n, err := repo.UnchainedEvents(ctx); err != nil || n != 1 {
				t.Errorf("UnchainedEvents = %d, %v; want 1", n, err)
			}
		})
	}
}

// migrateTo applies the migrations up to version from the source tree, as an older release
// would have.
func migrateTo(t *testing.T, db *database.DB, version int64) {
	t.Helper()
	dialect := goose.DialectPostgres
	if db.Kind == config.SQLite {
		dialect = goose.DialectSQLite3
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, sqlDB, os.DirFS("../database/migrations/"+string(db.Kind)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
}

func TestTheClosingStepListsTheAddressAndReleasesTheClaimInItsTransaction(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		req := mustCreate(t, repo, "r1")
		if _, err := repo.Claim(ctx, req.EmailHash, req.Type, "r1"); err != nil {
			t.Fatal(err)
		}
		closing := step(1, domain.StatusCompleted, "")
		closing.Patch.Suppress, closing.Patch.ReleaseClaim = true, true
		if _, err := repo.ApplyStep(ctx, closing); err != nil {
			t.Fatal(err)
		}
		listed, err := repo.Suppressed(ctx, []string{req.EmailHash})
		if err != nil {
			t.Fatal(err)
		}
		holder, err := repo.Claim(ctx, req.EmailHash, req.Type, "r2")
		if err != nil {
			t.Fatal(err)
		}
		if !listed[req.EmailHash] || holder != "r2" {
			t.Errorf("after the closing step: listed %v, a later request's claim went to %q; want listed and r2", listed, holder)
		}
	})
}
