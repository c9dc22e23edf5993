package activities_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

// Mail links to a receipt only where it reports a milestone and a log is kept: a reminder
// reports none, and a worker without a log has no receipts to give.
func TestOnlyMilestoneMailFromALoggingWorkerLinksToAReceipt(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	log, err := tlog.New(db, secret, "dsr.example/log")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := requestdb.New(db).CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "review", Jurisdiction: "gdpr", Status: "received", Email: "ada@example.com", EmailHash: "h",
		ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	box := requestdb.NewDevMailbox(db)
	builder := links.Builder{Base: "https://dsr.example", Secret: secret}
	send := func(repo *requestdb.Repo, key string, n mail.Notice) string {
		t.Helper()
		acts := &activities.Activities{Requests: repo, Mail: box, Secret: secret, Links: builder}
		n.RequestID = "r1"
		if err := acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: key, Notice: n}); err != nil {
			t.Fatal(err)
		}
		mails, err := box.List(context.Background(), "ada@example.com", 100)
		if err != nil || len(mails) == 0 {
			t.Fatalf("mails = %d, %v", len(mails), err)
		}
		return mails[0].Text // the newest
	}
	logging, plain := requestdb.New(db).WithLog(log), requestdb.New(db)
	extension := mail.Notice{Kind: mail.KindExtension, Data: mail.Extension{NewDueDate: now, Reason: "many systems"}}

	if text := send(logging, "ext", extension); !strings.Contains(text, builder.Receipt("r1", string(tlog.Extended))) {
		t.Errorf("the extension mail lacks the receipt of the extension:\n%s", text)
	}
	if text := send(logging, "remind", mail.Notice{Kind: mail.KindReminder, Data: mail.Reminder{ExpiresAt: now}}); strings.Contains(text, "/receipt?") {
		t.Errorf("a reminder, which reports no milestone, links to a receipt:\n%s", text)
	}
	if text := send(plain, "ext-unlogged", extension); strings.Contains(text, "/receipt?") {
		t.Errorf("mail from a worker without a log links to a receipt:\n%s", text)
	}
}
