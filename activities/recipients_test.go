package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestRecipientsAreToldOnceWhatToChange(t *testing.T) {
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
	box := requestdb.NewDevMailbox(db)
	acts := &activities.Activities{Requests: repo, Mail: box, Recipients: map[string][]datamap.Recipient{
		"crm":  {{Name: "Affiliate UK", Email: "privacy@uk.example"}, {Name: "Affiliate AS", Webhook: "https://as.example/notices"}},
		"shop": {{Name: "Affiliate UK", Email: "privacy@uk.example"}},
	}}
	in := activities.NotifyRecipientsInput{RequestID: "r1", Stores: []string{"crm", "shop"}}
	for range 2 {
		out, err := acts.NotifyRecipients(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].Status != "sent" || out[1].Channel != "webhook" {
			t.Fatalf("notices = %+v, want the e-mail recipient once and the webhook one listed", out)
		}
	}
	mails, err := box.List(context.Background(), "privacy@uk.example", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 {
		t.Fatalf("recipient got %d mails over two runs, want 1", len(mails))
	}
	for _, want := range []string{"phone: +44 20 7946 0000", "ada@example.com", "r1"} {
		if !strings.Contains(mails[0].Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, mails[0].Text)
		}
	}
}
