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

// appealedRequest stores a denied Virginia correction, its mailbox proven or not, with an
// appeal granted.
func appealedRequest(t *testing.T, repo *requestdb.Repo, id string, proven bool) {
	t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	err := repo.CreateRequest(ctx, &requestdb.Request{ID: id, Type: domain.TypeCorrect, Jurisdiction: domain.JurisdictionVCDPA, Status: domain.StatusDenied,
		Email: "vic@example.com", MailboxEmail: "Vic@Example.com", EmailHash: "h", Details: `{"changes":[{"field":"name","value":"Vic Vale"}]}`, Language: "nb",
		ReceivedAt: now, DueAt: now, OriginalDueAt: now, Progress: requestdb.Progress{EmailVerified: proven}})
	if err != nil {
		t.Fatal(err)
	}
	err = repo.CreateAppeal(ctx, &requestdb.Appeal{RequestID: id, Status: domain.AppealGranted, Text: "look again", ReceivedAt: now, DueAt: now, OriginalDueAt: now})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenFollowUpStoresOneRequestLikeTheOriginalHoweverOftenItRuns(t *testing.T) {
	ctx := context.Background()
	repo := requestdb.New(testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	appealedRequest(t, repo, "r1", true)
	acts := &activities.Activities{Requests: repo}
	in := activities.OpenFollowUpInput{RequestID: "r1", GrantedBy: "dave", Deadline: domain.DeadlinePolicy{DefaultDays: 20}}
	first, err := acts.OpenFollowUp(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := acts.OpenFollowUp(ctx, in)
	if err != nil || again.RequestID != first.RequestID || !again.ReceivedAt.Equal(first.ReceivedAt) || !again.DueAt.Equal(first.DueAt) ||
		first.RequestID != activities.FollowUpID("r1") {
		t.Fatalf("second run = %+v, %v; want the first's %+v", again, err, first)
	}
	row, err := repo.GetRequest(ctx, first.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Type != domain.TypeCorrect || row.Details != `{"changes":[{"field":"name","value":"Vic Vale"}]}` || row.Email != "vic@example.com" ||
		row.MailboxEmail != "Vic@Example.com" || row.Language != "nb" || row.OpenedBy != "dave" || row.Status != domain.StatusReceived ||
		!row.DueAt.Equal(first.DueAt) || row.DueAt.Sub(row.ReceivedAt) != 45*24*time.Hour {
		t.Errorf("follow-up row = %+v, want the original's request, opened by dave, due in Virginia's 45 days", row)
	}
	ap, err := repo.GetAppeal(ctx, "r1")
	if err != nil || ap.FollowUpID != first.RequestID {
		t.Errorf("appeal = %+v, %v; want it to name the follow-up", ap, err)
	}
}

func TestOpenFollowUpOpensNoneForARequestWhoseMailboxWasNeverProven(t *testing.T) {
	ctx := context.Background()
	repo := requestdb.New(testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	appealedRequest(t, repo, "r1", false)
	out, err := (&activities.Activities{Requests: repo}).OpenFollowUp(ctx, activities.OpenFollowUpInput{RequestID: "r1", GrantedBy: "dave"})
	if err != nil || out.RequestID != "" {
		t.Fatalf("follow-up = %+v, %v; want none", out, err)
	}
	if _, err := repo.GetRequest(ctx, activities.FollowUpID("r1")); err == nil {
		t.Error("a follow-up was stored")
	}
}
