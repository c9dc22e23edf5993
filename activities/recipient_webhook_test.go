package activities_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

const recipientSecret = "a recipient's shared secret, 32 bytes"

// recipientServer is a recipient's endpoint that verifies each notice's signature, counts
// the notices it accepts and keeps the last one.
func recipientServer(t *testing.T, answer int) (url string, posts *atomic.Int32, last *webhook.RecipientNotice) {
	t.Helper()
	posts, last = &atomic.Int32{}, &webhook.RecipientNotice{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(webhook.HeaderKeyID) != "as-2026" || webhook.Verify([]byte(recipientSecret), r.Header, body, time.Now(), 0) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if err := json.Unmarshal(body, last); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		posts.Add(1)
		w.WriteHeader(answer)
		io.WriteString(w, `{"status":"done"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, posts, last
}

func correctionRequest(t *testing.T) (*requestdb.Repo, *database.DB) {
	t.Helper()
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "correct", Jurisdiction: "gdpr", Status: "in_progress", Email: "ada@example.com", EmailHash: "h",
		Details:    `{"changes":[{"field":"phone","value":"+44 20 7946 0000"}]}`,
		ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return repo, db
}

func TestWebhookRecipientGetsOneSignedNoticeAndItsAnswerIsListed(t *testing.T) {
	repo, db := correctionRequest(t)
	url, posts, last := recipientServer(t, http.StatusOK)
	box := requestdb.NewDevMailbox(db)
	acts := &activities.Activities{Requests: repo, Mail: box,
		LookupEnv: func(name string) (string, bool) { return recipientSecret, name == "AS_NOTICE_KEY" },
		Recipients: map[string][]datamap.Recipient{
			"crm": {{Name: "Affiliate AS", Webhook: url, KeyID: "as-2026", SecretEnv: "AS_NOTICE_KEY"}},
		}}
	in := activities.NotifyRecipientsInput{RequestID: "r1", Stores: []string{"crm"}}
	for range 2 {
		out, err := acts.NotifyRecipients(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out[0].Channel != "webhook" || out[0].Status != "sent: done (HTTP 200)" {
			t.Fatalf("notices = %+v, want the webhook recipient sent, with its answer", out)
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("recipient got %d signed notices over two runs, want 1", n)
	}
	if last.RequestID != "r1" || last.Operation != "correct" || last.Email != "ada@example.com" ||
		last.IdempotencyKey != "r1:recipient_notice:Affiliate AS" || !strings.Contains(last.Change, "+44 20 7946 0000") ||
		len(last.Details.Changes) != 1 || last.RespondBy.Before(time.Now().AddDate(0, 0, 13)) {
		t.Errorf("notice = %+v", last)
	}

	// The completion mail lists the recipient as told; its answer is for staff.
	err := acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "done-r1", Notice: mail.Notice{
		Kind: mail.KindCompletion, RequestID: "r1", Data: mail.Completion{RequestType: "correct", RecipientsTold: []string{"Affiliate AS"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mails, err := box.List(context.Background(), "ada@example.com", 10)
	if err != nil || len(mails) != 1 {
		t.Fatalf("mails = %d, %v", len(mails), err)
	}
	if !strings.Contains(mails[0].Text, "Affiliate AS (sent)") || strings.Contains(mails[0].Text, "HTTP 200") || !strings.Contains(mails[0].Text, "theirs to delete") {
		t.Errorf("completion does not list the recipient as told, or shows its answer:\n%s", mails[0].Text)
	}
}

func TestARefusedWebhookNoticeIsRecordedAsFailedNotRetried(t *testing.T) {
	repo, _ := correctionRequest(t)
	url, posts, _ := recipientServer(t, http.StatusUnprocessableEntity)
	acts := &activities.Activities{Requests: repo,
		LookupEnv: func(string) (string, bool) { return recipientSecret, true },
		Recipients: map[string][]datamap.Recipient{
			"crm": {{Name: "Affiliate AS", Webhook: url, KeyID: "as-2026", SecretEnv: "AS_NOTICE_KEY"}},
		}}
	in := activities.NotifyRecipientsInput{RequestID: "r1", Stores: []string{"crm"}}
	for range 2 {
		out, err := acts.NotifyRecipients(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || !strings.HasPrefix(out[0].Status, "failed: ") || !strings.Contains(out[0].Status, "422") {
			t.Fatalf("notices = %+v, want a failure naming the status", out)
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("recipient got %d notices, want 1", n)
	}
}

func TestAWebhookRecipientThatAnswersBadlyIsAskedAgain(t *testing.T) {
	repo, _ := correctionRequest(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	acts := &activities.Activities{Requests: repo,
		LookupEnv: func(string) (string, bool) { return recipientSecret, true },
		Recipients: map[string][]datamap.Recipient{
			"crm": {{Name: "Affiliate AS", Webhook: srv.URL, KeyID: "as-2026", SecretEnv: "AS_NOTICE_KEY"}},
		}}
	in := activities.NotifyRecipientsInput{RequestID: "r1", Stores: []string{"crm"}}
	if _, err := acts.NotifyRecipients(context.Background(), in); err == nil {
		t.Fatal("a 503 was taken for an answer; want an error so the activity retries")
	}
	out, err := acts.NotifyRecipients(context.Background(), in)
	if err != nil || len(out) != 1 || out[0].Status != "sent: acknowledged (HTTP 202)" {
		t.Errorf("retry = %+v, %v", out, err)
	}
}
