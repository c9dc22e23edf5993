package requestdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
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
		if err := repo.ApplyStep(ctx, first); err != nil {
			t.Fatal(err)
		}
		applied, err := repo.GetRequest(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if err := repo.ApplyStep(ctx, first); err != nil {
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

func TestApplyStepIgnoresAnOlderStep(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		for _, s := range []requestdb.Step{
			step(1, domain.StatusInProgress, "alice"),
			step(2, domain.StatusCompleted, "bob"),
			step(1, domain.StatusNeedsAttention, "carol"), // late retry with other data
		} {
			if err := repo.ApplyStep(ctx, s); err != nil {
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
		err := requestdb.New(db).ApplyStep(context.Background(), step(1, domain.StatusInProgress, ""))
		if !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}
