package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// heardSteps keeps the steps an Activities reports.
type heardSteps []requestdb.Applied

func (h *heardSteps) StepStored(_ context.Context, s requestdb.Applied) { *h = append(*h, s) }

func TestRecordStepReportsEachStoredStepOnceAcrossRetries(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	received := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: domain.TypeRestrict, Jurisdiction: "gdpr", Status: domain.StatusAwaitingEmailVerification,
		Email: "ada@example.com", EmailHash: "h", ReceivedAt: received, DueAt: received, OriginalDueAt: received,
	})
	if err != nil {
		t.Fatal(err)
	}
	var heard heardSteps
	acts := &activities.Activities{Requests: repo, Steps: &heard}
	status := domain.StatusInProgress
	in := activities.RecordStepInput{RequestID: "r1", Seq: 1, At: received.Add(time.Minute), Action: "verified",
		From: domain.StatusAwaitingEmailVerification, To: status, Patch: activities.StepChange{Status: &status}}
	for range 2 { // the second as a retry of an attempt whose answer was lost
		if err := acts.RecordStep(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	want := requestdb.Applied{Stored: true, Type: domain.TypeRestrict, From: domain.StatusAwaitingEmailVerification,
		To: domain.StatusInProgress, At: in.At, TimeInFrom: time.Minute}
	if len(heard) != 1 || heard[0] != want {
		t.Errorf("heard %+v, want once %+v", heard, want)
	}
}

// A lift of a restriction does not join an open restriction from the same address: that
// would drop it and leave the person restricted. A second lift joins the first.
func TestALiftClaimsApartFromAnOpenRestriction(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	received := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for id, details := range map[string]string{
		"restrict": `{"limits":["affiliate_sharing"]}`,
		"lift":     `{"limits":["affiliate_sharing"],"lift":true}`,
		"lift-2":   `{"limits":["affiliate_sharing"],"lift":true}`,
	} {
		err := repo.CreateRequest(context.Background(), &requestdb.Request{
			ID: id, Type: domain.TypeRestrict, Jurisdiction: "ccpa", Status: domain.StatusAwaitingEmailVerification, Details: details,
			Email: "ada@example.com", EmailHash: "h", ReceivedAt: received, DueAt: received, OriginalDueAt: received,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	acts := &activities.Activities{Requests: repo}
	for _, c := range []struct{ id, holder string }{{"restrict", "restrict"}, {"lift", "lift"}, {"lift-2", "lift"}} {
		got, err := acts.ClaimRequest(context.Background(), activities.ClaimInput{RequestID: c.id})
		if err != nil || got.Holder != c.holder {
			t.Errorf("claim of %s = %+v, %v; want held by %s", c.id, got, err, c.holder)
		}
	}
}
