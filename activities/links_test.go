package activities_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/keys"
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
	acts := &activities.Activities{Requests: repo, Mail: box, Secret: secret, PublicURL: "https://dsr.example/"}
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
