package activities_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/internal/testenv"
)

// norwegianRequest stores a request of kari@example.com made in Norwegian, and starts an
// SMTP server with a sender to it.
func norwegianRequest(t *testing.T, id string, typ domain.RequestType, status domain.Status) (*requestdb.Repo, time.Time, *smtptest.Server, mail.Sender) {
	t.Helper()
	repo := requestdb.New(testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: id, Type: typ, Jurisdiction: "gdpr", Status: status, Email: "kari@example.com", EmailHash: "h",
		Language: "nb", ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: "privacy@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return repo, now, srv, sender
}

// The workflow knows no language: the notice speaks the one stored on the request, and the
// code mail links to the page that takes the code.
func TestNoticesSpeakTheLanguageStoredOnTheRequest(t *testing.T) {
	repo, _, srv, sender := norwegianRequest(t, "r-nb", "review", "received")
	notices, err := mail.NewTemplates(i18n.Default(), mail.Brand{Organization: "Eksempel AS"}, "")
	if err != nil {
		t.Fatal(err)
	}
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	acts := &activities.Activities{Requests: repo, Mail: sender, Secret: secret, Notices: notices,
		Links: links.Builder{Base: "https://dsr.example", Secret: secret}}
	err = acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "code-r-nb", Notice: mail.Notice{
		Kind: mail.KindVerificationCode, RequestID: "r-nb", Data: mail.VerificationCode{Code: "123456", ValidMinutes: 30},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "kari@example.com", 5*time.Second)
	if got.Subject != "Bekreftelseskoden din" || !strings.Contains(got.Text, "Personvernteamet i Eksempel AS") {
		t.Errorf("mail is not in Norwegian: %q\n%s", got.Subject, got.Text)
	}
	if want := "https://dsr.example/requests/r-nb/verify?k=" + secret.StatusLinkKey("r-nb"); !strings.Contains(got.Text, want) {
		t.Errorf("code mail lacks the link to the page that takes the code, %s:\n%s", want, got.Text)
	}
}

// The completion mail lists what was found and changed by the labels the requester's
// report uses, in the request's language, never by the stores' internal names.
func TestTheCompletionMailNamesDataByItsLabelsInTheRequestsLanguage(t *testing.T) {
	repo, now, srv, sender := norwegianRequest(t, "r-done-nb", "restrict", "completed")
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	acts := &activities.Activities{Requests: repo, Mail: sender, Secret: secret,
		Links:         links.Builder{Base: "https://dsr.example", Secret: secret},
		OutcomeLabels: requests.NewOutcomeLabels([]*datamap.Map{m}).Outcome}
	err = repo.RecordRecipientNotice(context.Background(), requestdb.RecipientNoticeRecord{
		RequestID: "r-done-nb", Recipient: "Affiliate AS", Channel: "webhook", Status: "sent", Answer: "acknowledged (HTTP 202)", SentAt: now})
	if err != nil {
		t.Fatal(err)
	}
	// As the workflow gathers them: each store's own names, some twice.
	err = acts.SendNotice(context.Background(), activities.SendNoticeInput{Key: "done-r-done-nb", Notice: mail.Notice{
		Kind: mail.KindCompletion, RequestID: "r-done-nb", Data: mail.Completion{RequestType: "restrict",
			Found:          []string{"newsletter_subscriptions", "name", "newsletter_subscriptions", "postal_address"},
			Changed:        []string{"marketing_email", "newsletter_subscriptions"},
			RecipientsTold: []string{"Affiliate AS"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "kari@example.com", 5*time.Second)
	got.Text = strings.ReplaceAll(got.Text, "\r\n", "\n")
	for _, want := range []string{"Dette fant vi:\n- Navnet ditt\n- Postadresse\n- Nyhetsbrev\n",
		"Dette endret vi:\n- Nyhetsbrev\n- Markedsføring på e-post er stoppet\n", "- Affiliate AS (varslet)\n"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("completion mail lacks %q:\n%s", want, got.Text)
		}
	}
	// What the recipient answered, and by which channel, is for staff.
	for _, raw := range []string{"newsletter_subscriptions", "marketing_email", "postal_address", "webhook", "HTTP 202"} {
		if strings.Contains(got.Text, raw) || strings.Contains(got.HTML, raw) {
			t.Errorf("completion mail names %q", raw)
		}
	}
}
