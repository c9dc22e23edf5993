package requestdb_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// Reading a requester's details is recorded in the request's audit trail and chain, each
// read its own event, while the request's steps go on applying as before.
func TestRecordAccessAppendsAnEventAndLeavesTheRequestAlone(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		if _, err := repo.ApplyStep(ctx, stepOf("r1", 1)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- repo.RecordAccess(ctx, "r1", "carol", "analyst", `["request page"]`) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := repo.ApplyStep(ctx, stepOf("r1", 2)); err != nil {
			t.Fatal(err)
		}
		row, err := repo.GetRequest(ctx, "r1")
		if err != nil || row.StepSeq != 2 {
			t.Fatalf("request after the reads = %+v, %v; want step 2 applied", row, err)
		}
		events, err := repo.AuditEvents(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		reads := 0
		for _, e := range events {
			seen[e.Seq] = true
			if e.Action == requestdb.ActionAccessed {
				reads++
				if e.Actor != "carol" || e.Role != "analyst" || e.Details != `["request page"]` || e.FromStatus != e.ToStatus {
					t.Errorf("read event = %+v", e)
				}
			}
		}
		if reads != 4 || len(seen) != len(events) {
			t.Errorf("%d read events among %d with %d distinct numbers, want 4 reads, each numbered apart", reads, len(events), len(seen))
		}
		checkLinked(t, repo, chain(t, repo))
		if err := repo.RecordAccess(ctx, "nope", "carol", "analyst", `[]`); !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("read of a missing request = %v, want ErrNotFound", err)
		}
	})
}
