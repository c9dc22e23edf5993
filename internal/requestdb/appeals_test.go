package requestdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func newAppeal(id string) *requestdb.Appeal {
	return &requestdb.Appeal{RequestID: id, Status: domain.AppealOpen, Text: "I disagree.\nHere is why.",
		ReceivedAt: at(2), DueAt: at(30), OriginalDueAt: at(30), RefusedBy: "ana", RefusedByID: "tok-ana"}
}

func TestARequestHasOneAppeal(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		if err := repo.CreateAppeal(ctx, newAppeal("00000000-0000-0000-0000-0000000000a1")); !errors.Is(err, requestdb.ErrNotFound) {
			t.Fatalf("appeal of no request: %v, want ErrNotFound", err)
		}
		mustCreate(t, repo, "00000000-0000-0000-0000-0000000000a1")
		if err := repo.CreateAppeal(ctx, newAppeal("00000000-0000-0000-0000-0000000000a1")); err != nil {
			t.Fatal(err)
		}
		if err := repo.CreateAppeal(ctx, newAppeal("00000000-0000-0000-0000-0000000000a1")); !errors.Is(err, requestdb.ErrConflict) {
			t.Fatalf("second appeal: %v, want ErrConflict", err)
		}
		got, err := repo.GetAppeal(ctx, "00000000-0000-0000-0000-0000000000a1")
		if err != nil || got.Text != "I disagree.\nHere is why." || !got.DueAt.Equal(kept(at(30))) || got.RefusedByID != "tok-ana" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

func TestAnAppealStepAppliesOnceAndNeverUndoesALaterOne(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		id := "00000000-0000-0000-0000-0000000000a2"
		mustCreate(t, repo, id)
		if err := repo.CreateAppeal(ctx, newAppeal(id)); err != nil {
			t.Fatal(err)
		}
		denied, reason, by, decided := domain.AppealDenied, "kept under tax law", "bob", at(9)
		decision := requestdb.AppealStep{RequestID: id, Seq: 1<<41 + 2,
			Event: requestdb.AuditEvent{At: at(9), Actor: by, Role: "analyst", Action: "appeal_denied", FromStatus: "denied", ToStatus: "denied"},
			Patch: requestdb.AppealPatch{Status: &denied, DecisionReason: &reason, DecidedBy: &by, DecidedAt: &decided}}
		for i, want := range []bool{true, false} {
			stored, err := repo.ApplyAppealStep(ctx, decision)
			if err != nil || stored != want {
				t.Fatalf("apply %d: stored %v, %v; want %v", i, stored, err, want)
			}
		}
		// An earlier step arriving late changes nothing on the row, though its event is kept.
		open := domain.AppealOpen
		late := requestdb.AppealStep{RequestID: id, Seq: 1<<41 + 1,
			Event: requestdb.AuditEvent{At: at(3), Role: "requester", Action: "appealed", FromStatus: "denied", ToStatus: "denied"},
			Patch: requestdb.AppealPatch{Status: &open}}
		if _, err := repo.ApplyAppealStep(ctx, late); err != nil {
			t.Fatal(err)
		}
		got, err := repo.GetAppeal(ctx, id)
		if err != nil || got.Status != domain.AppealDenied || got.DecidedBy != "bob" || got.DecidedAt == nil || !got.DecidedAt.Equal(kept(at(9))) {
			t.Fatalf("got %+v, %v", got, err)
		}
		events, err := repo.AuditEvents(ctx, id)
		if err != nil || len(events) != 2 || events[0].Action != "appealed" || events[1].Action != "appeal_denied" {
			t.Fatalf("events %+v, %v", events, err)
		}
		list, err := repo.ListAppeals(ctx, domain.AppealDenied)
		if err != nil || len(list) != 1 || list[0].RequestID != id {
			t.Fatalf("denied appeals %+v, %v", list, err)
		}
	})
}
