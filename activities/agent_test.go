package activities_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// failingTo refuses, once, every message to one address, and keeps the recipients of the
// others.
type failingTo struct {
	sent   sentTo
	refuse string
}

func (f *failingTo) Send(ctx context.Context, m mail.Message) error {
	if m.To == f.refuse {
		f.refuse = ""
		return errors.New("connection reset")
	}
	return f.sent.Send(ctx, m)
}

// A request an agent made: the person's notices go to the person, the agent is told only
// the outcome, once, even when that mail fails the first time and the activity is retried.
func TestAgentIsToldTheOutcomeOnceBesideThePersonsNotice(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: domain.TypeRestrict, Jurisdiction: "gdpr", Status: "received", Email: "pat@example.com", EmailHash: "h",
		ReceivedAt: now, DueAt: now, OriginalDueAt: now,
		Agent: requestdb.Agent{AgentName: "Rights Helper Ltd", AgentContact: "desk@helper.example", AgentKind: requestdb.AgentByForm},
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := &failingTo{refuse: "desk@helper.example"}
	acts := &activities.Activities{Requests: repo, Mail: sender}
	code := activities.SendNoticeInput{Key: "r1:code:1", Notice: mail.Notice{Kind: mail.KindVerificationCode, RequestID: "r1", Data: mail.VerificationCode{Code: "123456", ValidMinutes: 30}}}
	if err := acts.SendNotice(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	done := activities.SendNoticeInput{Key: "r1:completion:9", Notice: mail.Notice{Kind: mail.KindCompletion, RequestID: "r1", Data: mail.Completion{RequestType: "restrict"}}}
	if err := acts.SendNotice(context.Background(), done); err == nil {
		t.Fatal("a failed mail to the agent was not reported, so it would never be retried")
	}
	if err := acts.SendNotice(context.Background(), done); err != nil {
		t.Fatal(err)
	}
	expired := activities.SendNoticeInput{Key: "r1:agent_outcome:9", Notice: mail.Notice{Kind: mail.KindAgentOutcome, RequestID: "r1", Data: mail.AgentOutcome{Outcome: "expired"}}}
	if err := acts.SendNotice(context.Background(), expired); err != nil {
		t.Fatal(err)
	}
	want := sentTo{"pat@example.com", "pat@example.com", "desk@helper.example", "desk@helper.example"}
	if !slices.Equal(sender.sent, want) {
		t.Errorf("mailed %q, want %q: the code and the completion to the person, the completion to the agent once, an ending to the agent alone", sender.sent, want)
	}
}
