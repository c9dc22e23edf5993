package demo_test

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
)

const affiliateKeyID, affiliateSecret = "demo-smithmicro-as", "an affiliate secret of 32 bytes!"

func startAffiliate(t *testing.T) (*demo.Affiliate, string) {
	t.Helper()
	a := demo.NewAffiliate(affiliateKeyID, []byte(affiliateSecret))
	url, err := a.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, url
}

func suppressNotice() webhook.RecipientNotice {
	return webhook.RecipientNotice{RequestID: "7f0c2a4e-1111-4222-8333-944455556666", Operation: domain.TypeSuppress,
		Email: "Ada.Lovelace@example.com", Details: domain.Details{Scope: &domain.SuppressScope{All: true}},
		Change: "Erase all personal information about this person.", RespondBy: time.Now().AddDate(0, 0, 14).UTC()}
}

func TestAffiliateAcknowledgesASignedNoticeOnce(t *testing.T) {
	a, url := startAffiliate(t)
	hook := webhook.New("Smith Micro Software AS", webhook.Config{URL: url, KeyID: affiliateKeyID, Secret: []byte(affiliateSecret)})
	sent := suppressNotice()
	for attempt := range 2 {
		receipt, err := hook.Notify(ctx, sent)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if got, want := receipt, (webhook.Receipt{StatusCode: http.StatusOK, Status: "acknowledged"}); got != want {
			t.Errorf("attempt %d: receipt %+v, want %+v", attempt, got, want)
		}
	}
	got := a.Notices()
	if len(got) != 1 {
		t.Fatalf("the affiliate kept %d notices after a repeated one, want 1", len(got))
	}
	n := got[0]
	if n.RequestID != sent.RequestID || n.Operation != domain.TypeSuppress || n.Email != "ada.lovelace@example.com" ||
		n.Change != sent.Change || n.IdempotencyKey != webhook.NoticeIdempotencyKey(sent.RequestID, "Smith Micro Software AS") {
		t.Errorf("the affiliate received %+v", n)
	}
}

func TestAffiliateRefusesNoticesItCannotAuthenticate(t *testing.T) {
	a, url := startAffiliate(t)
	for name, cfg := range map[string]webhook.Config{
		"wrong secret": {URL: url, KeyID: affiliateKeyID, Secret: []byte("some other secret of 32 bytes!!!")},
		"wrong key ID": {URL: url, KeyID: "someone-else", Secret: []byte(affiliateSecret)},
	} {
		_, err := webhook.New("Smith Micro Software AS", cfg).Notify(ctx, suppressNotice())
		if !errors.Is(err, connector.ErrPermanent) {
			t.Errorf("%s: Notify = %v, want a permanent failure (401)", name, err)
		}
	}
	// A signed body that is not a notice is refused too.
	body := []byte(`{"kind":"something_else"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	webhook.SignHeader(req.Header, affiliateKeyID, []byte(affiliateSecret), body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a signed non-notice got %d, want 400", resp.StatusCode)
	}
	if n := a.Notices(); len(n) != 0 {
		t.Errorf("the affiliate kept %d refused notices", len(n))
	}
}

// The demo's webhook recipient must carry a key, or dsr lists it "not sent".
func TestDemoWebhookRecipientIsSigned(t *testing.T) {
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	recipients := m.Recipients()
	i := slices.IndexFunc(recipients, func(r datamap.Recipient) bool { return r.Webhook != "" })
	if i < 0 {
		t.Fatal("the demo data map has no webhook recipient")
	}
	r := recipients[i]
	if r.Name != "Smith Micro Software AS" || r.Store != "accounts" || r.KeyID != affiliateKeyID || r.SecretEnv == "" {
		t.Errorf("webhook recipient %+v, want Smith Micro Software AS of accounts with key %s and a secret_env", r, affiliateKeyID)
	}
}
