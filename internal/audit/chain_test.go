package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func verifyChain(t *testing.T, repo *requestdb.Repo) audit.Report {
	t.Helper()
	rep, err := audit.VerifyChain(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyChainAcceptsAnUntouchedLog(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		rep := verifyChain(t, seed(t, db))
		if err := rep.Err(); err != nil || rep.Events != 5 || rep.Head.ChainSeq != 5 || rep.Unchained != 0 {
			t.Errorf("report = %+v, err %v; want 5 intact events", rep, err)
		}
	})
}

func TestVerifyChainAcceptsAnEmptyLog(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		rep := verifyChain(t, requestdb.New(db))
		if err := rep.Err(); err != nil || rep.Events != 0 {
			t.Errorf("report = %+v, err %v; want an intact empty chain", rep, err)
		}
	})
}

func TestVerifyChainNamesTheEventWhoseContentsChanged(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := seed(t, db)
		allowRewrites(t, db)
		tamper(t, db, `UPDATE audit_events SET details = '["never checked"]' WHERE id = 'r2:1'`)
		tamper(t, db, `UPDATE audit_events SET actor = 'mallory' WHERE id = 'r1:3'`)
		rep := verifyChain(t, repo)
		if rep.Break == nil || rep.Break.EventID != "r2:1" || rep.Break.ChainSeq != 2 || !strings.Contains(rep.Break.Problem, "altered") {
			t.Fatalf("break = %+v, want the first altered event r2:1 at position 2", rep.Break)
		}
		if err := rep.Err(); !errors.Is(err, audit.ErrChainBroken) || !strings.Contains(err.Error(), "r2:1") {
			t.Errorf("Err() = %v, want ErrChainBroken naming r2:1", err)
		}
	})
}

// Someone who rewrites an event and its hash still breaks the link from the next event.
func TestVerifyChainNamesTheLinkAfterARehashedEvent(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := seed(t, db)
		events, err := repo.AuditEvents(context.Background(), "r2")
		if err != nil {
			t.Fatal(err)
		}
		forged := events[0]
		forged.Details = `["never checked"]`
		allowRewrites(t, db)
		tamper(t, db, `UPDATE audit_events SET details = ?, hash = ? WHERE id = 'r2:1'`, forged.Details, forged.ChainHash())
		rep := verifyChain(t, repo)
		if rep.Break == nil || rep.Break.EventID != "r1:2" || !strings.Contains(rep.Break.Problem, "r2:1") {
			t.Errorf("break = %+v, want r1:2 whose prev_hash no longer matches r2:1", rep.Break)
		}
	})
}

func TestVerifyChainNamesTheEventAfterARemovedOne(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := seed(t, db)
		allowRewrites(t, db)
		tamper(t, db, `DELETE FROM audit_events WHERE id = 'r1:2'`)
		rep := verifyChain(t, repo)
		if rep.Break == nil || rep.Break.EventID != "r2:2" || !strings.Contains(rep.Break.Problem, "missing") {
			t.Errorf("break = %+v, want r2:2 after the missing position 3", rep.Break)
		}
	})
}

func TestVerifyChainNoticesEventsRemovedFromTheEnd(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := seed(t, db)
		allowRewrites(t, db)
		tamper(t, db, `DELETE FROM audit_events WHERE id = 'r1:3'`)
		rep := verifyChain(t, repo)
		if rep.Break == nil || rep.Break.ChainSeq != 5 || rep.Break.EventID != "" || !strings.Contains(rep.Break.Problem, "missing from its end") {
			t.Errorf("break = %+v, want position 5 missing from the end", rep.Break)
		}
	})
}
