package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// closingMail sends one closing notice of a request under j and returns its text.
func closingMail(t *testing.T, j domain.Jurisdiction, data any) string {
	t.Helper()
	ctx := context.Background()
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo, box := requestdb.New(db), requestdb.NewDevMailbox(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(ctx, &requestdb.Request{ID: "r1", Type: domain.TypeSuppress, Jurisdiction: j, Status: domain.StatusCompleted,
		Email: "ada@example.com", EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now})
	if err != nil {
		t.Fatal(err)
	}
	secret := keys.Secret("0123456789abcdef0123456789abcdef")
	acts := &activities.Activities{Requests: repo, Mail: box, Secret: secret, Links: links.Builder{Base: "https://privacy.example.com", Secret: secret}}
	kind := mail.KindCompletion
	if _, ok := data.(mail.Denial); ok {
		kind = mail.KindDenial
	}
	if err := acts.SendNotice(ctx, activities.SendNoticeInput{Key: "k1", Notice: mail.Notice{Kind: kind, RequestID: "r1", Data: data}}); err != nil {
		t.Fatal(err)
	}
	msgs, err := box.List(ctx, "ada@example.com", 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("mail: %v, %v", msgs, err)
	}
	return msgs[0].Text
}

const appealLink = "https://privacy.example.com/requests/r1?k="

func TestAPartlyFulfilledRequestsNoticeOffersAnAppealWhereTheLawHasOne(t *testing.T) {
	kept := mail.Completion{RequestType: "suppress", Changed: []string{"newsletter"},
		Retained: []mail.Retained{{What: "orders", Reason: "tax law", Until: time.Now().AddDate(5, 0, 0)}}}
	text := closingMail(t, domain.JurisdictionCTDPA, kept)
	until := domain.BuiltinJurisdictions().For(domain.JurisdictionCTDPA, domain.DeadlinePolicy{}).Appeal.Window.After(time.Now())
	if !strings.Contains(text, appealLink) || !strings.Contains(text, "#appeal") || !strings.Contains(text, until.Format("2 January 2006")) {
		t.Errorf("a Connecticut completion that kept records lacks the appeal link and its date:\n%s", text)
	}
	if text := closingMail(t, domain.JurisdictionGDPR, kept); strings.Contains(text, "#appeal") {
		t.Errorf("a GDPR completion offers an appeal the table does not:\n%s", text)
	}
	done := mail.Completion{RequestType: "suppress", Changed: []string{"newsletter"}}
	if text := closingMail(t, domain.JurisdictionCTDPA, done); strings.Contains(text, "#appeal") {
		t.Errorf("a completion that kept nothing offers an appeal:\n%s", text)
	}
}

func TestADenialsNoticeOffersAnAppealWhereTheLawHasOne(t *testing.T) {
	if text := closingMail(t, domain.JurisdictionCPA, mail.Denial{Reason: "no match"}); !strings.Contains(text, appealLink) {
		t.Errorf("a Colorado denial lacks the appeal link:\n%s", text)
	}
	if text := closingMail(t, domain.JurisdictionCCPA, mail.Denial{Reason: "no match"}); strings.Contains(text, "#appeal") {
		t.Errorf("a CCPA denial offers an appeal the table does not:\n%s", text)
	}
}
