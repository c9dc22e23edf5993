package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// sentTo keeps the recipient of every message, as given to the sender.
type sentTo []string

func (s *sentTo) Send(_ context.Context, m mail.Message) error { *s = append(*s, m.To); return nil }

// addressChecker records the address a data-point check matches on.
type addressChecker struct{ emails []string }

func (c *addressChecker) MatchDataPoints(_ context.Context, email string, _ map[string]string) (int, error) {
	c.emails = append(c.emails, email)
	return 0, nil
}

type checkingStore struct{ checker *addressChecker }

func (checkingStore) Name() string { return "crm" }
func (checkingStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{}, nil
}
func (s checkingStore) Capabilities() connector.Capabilities {
	return connector.Capabilities{IdentityChecker: s.checker}
}

// Notices go to the address as typed, or, on a row stored before it was kept, to the
// normalised one; data points are matched on the normalised one.
func TestNoticesGoToTheTypedAddressAndChecksMatchTheNormalisedOne(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	for id, typed := range map[string]string{"typed": "Ada.Lovelace@Example.COM", "older": ""} {
		err := repo.CreateRequest(context.Background(), &requestdb.Request{
			ID: id, Type: domain.TypeReview, Jurisdiction: "gdpr", Status: "received", Email: "ada.lovelace@example.com",
			MailboxEmail: typed, EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var sent sentTo
	checker := &addressChecker{}
	acts := &activities.Activities{Requests: repo, Mail: &sent, Stores: []connector.Connector{checkingStore{checker}}}
	for _, id := range []string{"typed", "older"} {
		err := acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "code-" + id, Notice: mail.Notice{
			Kind: mail.KindVerificationCode, RequestID: id, Data: mail.VerificationCode{Code: "123456", ValidMinutes: 30},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := (sentTo{"Ada.Lovelace@Example.COM", "ada.lovelace@example.com"}); len(sent) != 2 || sent[0] != want[0] || sent[1] != want[1] {
		t.Errorf("mailed %q, want %q", sent, want)
	}
	if _, err := acts.CheckIdentity(context.Background(), activities.CheckIdentityInput{RequestID: "typed", Answers: map[string]string{"postal_code": "x"}}); err != nil {
		t.Fatal(err)
	}
	if len(checker.emails) != 1 || checker.emails[0] != "ada.lovelace@example.com" {
		t.Errorf("data points matched on %q, want the normalised address", checker.emails)
	}
}
