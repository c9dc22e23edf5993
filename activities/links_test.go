package activities_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMailedStatusLinksCarryTheRequestsLinkKey(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "review", Jurisdiction: "gdpr", Status: "received", Email: "ada@example.com", EmailHash: "h",
		ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	box := requestdb.NewDevMailbox(db)
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	acts := &activities.Activities{Requests: repo, Mail: box, Secret: secret, Links: links.Builder{Base: "https://dsr.example/", Secret: secret}}
	err = acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "ack-r1", Notice: mail.Notice{
		Kind: mail.KindAcknowledgement, RequestID: "r1", Data: mail.Acknowledgement{RequestType: "review", DueDate: now},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mails, err := box.List(context.Background(), "ada@example.com", 10)
	if err != nil || len(mails) != 1 {
		t.Fatalf("mails = %d, %v; want 1", len(mails), err)
	}
	want := "https://dsr.example/requests/r1?k=" + secret.StatusLinkKey("r1")
	if !strings.Contains(mails[0].Text, want) {
		t.Errorf("acknowledgement lacks %s:\n%s", want, mails[0].Text)
	}
	if other := secret.StatusLinkKey("r2"); strings.Contains(mails[0].Text, other) {
		t.Error("the link carries another request's key")
	}
}

func TestReviewCompletionLinksToTheReportUntilTheLinkExpires(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "review", Jurisdiction: "gdpr", Status: "completed", Email: "ada@example.com", EmailHash: "h",
		ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	box := requestdb.NewDevMailbox(db)
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	acts := &activities.Activities{Requests: repo, Mail: box, Secret: secret, Links: links.Builder{Base: "https://dsr.example", Secret: secret, ReportTTL: 48 * time.Hour}}
	err = acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "done-r1", Notice: mail.Notice{
		Kind: mail.KindCompletion, RequestID: "r1", Data: mail.Completion{RequestType: "review"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mails, err := box.List(context.Background(), "ada@example.com", 10)
	if err != nil || len(mails) != 1 {
		t.Fatalf("mails = %d, %v; want 1", len(mails), err)
	}
	i := strings.Index(mails[0].Text, "https://dsr.example/api/v1/requests/r1/report?")
	if i < 0 {
		t.Fatalf("completion lacks the report link:\n%s", mails[0].Text)
	}
	link, err := url.Parse(strings.Fields(mails[0].Text[i:])[0])
	if err != nil {
		t.Fatal(err)
	}
	q := link.Query()
	unix, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Unix(unix, 0)
	if q.Get("format") != "html" || !secret.ValidReportLink("r1", expires, q.Get("signature")) {
		t.Errorf("link %s does not carry a valid signature", link)
	}
	if d := time.Until(expires); d < 47*time.Hour || d > 48*time.Hour {
		t.Errorf("link expires in %s, want 48h", d)
	}
}

func TestStoreResultsReachTheWorkflowWithoutDataOrOldValues(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	ring, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	repo := requestdb.New(db).WithResultKeys(ring)
	now := time.Now().UTC()
	if err := repo.CreateRequest(context.Background(), &requestdb.Request{ID: "r1", Type: "correct", Jurisdiction: "gdpr", Status: "in_progress",
		Email: "ada@example.com", EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now}); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Requests: repo}
	out, err := acts.RecordStoreResult(context.Background(), activities.RecordStoreResultInput{RequestID: "r1", Store: "crm", Result: connector.Result{
		Changed: []string{"phone"}, Export: map[string]any{"phone": "+44 1"},
		Before: []connector.PriorValue{{Table: "customers", Field: "phone", Value: "+44 0"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Export != nil || out.Result.Before != nil || len(out.Result.Changed) != 1 {
		t.Errorf("workflow gets %+v", out.Result)
	}
	kept, err := repo.StoreResults(context.Background(), "r1")
	if err != nil || len(kept) != 1 || len(kept[0].Before) != 1 || kept[0].Before[0].Value != "+44 0" {
		t.Errorf("kept = %+v, %v; want the old value in the sealed result", kept, err)
	}
}
