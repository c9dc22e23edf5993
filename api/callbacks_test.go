package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// The webhook stores of the harness and the keys they sign with.
var (
	newsletterSecret = []byte("newsletter-secret-0123456789")
	crmSecret        = []byte("crm-secret-0123456789abcdef")
	callbackStores   = map[string]string{"newsletter": "k-news", "crm": "k-crm"}
)

func callbackKeys(keyID string) ([]byte, bool) {
	secret, ok := map[string][]byte{"k-news": newsletterSecret, "k-crm": crmSecret}[keyID]
	return secret, ok
}

// newsletterDone is the newsletter's result for a restriction of the request.
func newsletterDone(requestID string) webhook.Answer {
	return webhook.Answer{RequestID: requestID, IdempotencyKey: webhook.IdempotencyKey(requestID, domain.TypeRestrict, "newsletter"),
		Status: webhook.StatusDone, Changed: []string{"marketing_email"}}
}

// callback is a store's post of body to the callback URL of requestID, signed at at.
type callback struct {
	requestID string
	body      any
	keyID     string
	secret    []byte
	at        time.Time
}

func (cb callback) post(t *testing.T, send func(method, path, body, bearer string, headers http.Header) answer) answer {
	t.Helper()
	raw, err := json.Marshal(cb.body)
	if err != nil {
		t.Fatal(err)
	}
	headers := http.Header{}
	webhook.SignHeader(headers, cb.keyID, cb.secret, raw, cb.at)
	return send(http.MethodPost, "/api/v1/callbacks/"+cb.requestID, string(raw), "", headers)
}

func TestSignedCallbackDeliversTheResultAsTheStore(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	a := callback{req.ID, newsletterDone(req.ID), "k-news", newsletterSecret, h.now}.post(t, h.send)
	if a.code != http.StatusNoContent {
		t.Fatalf("callback = %d %s, want 204", a.code, a.body)
	}
	want := workflows.StoreResultInput{
		Store:  "newsletter",
		Result: connector.Result{Store: "newsletter", Changed: []string{"marketing_email"}},
		Actor:  workflows.Actor{Name: "newsletter", Role: domain.RoleSystem},
	}
	got := h.engine.updates
	if len(got) != 1 || got[0].WorkflowID != workflows.RequestID(req.ID) || got[0].UpdateName != workflows.UpdateStoreResult ||
		len(got[0].Args) != 1 || !reflect.DeepEqual(got[0].Args[0], want) {
		t.Errorf("updates = %+v, want store-result %+v", got, want)
	}
}

func TestCallbackIsRefusedUnlessItsStoresKeySignsIt(t *testing.T) {
	h := newHarness(t, false)
	req, other := h.open(), h.open()
	notDone := newsletterDone(req.ID)
	notDone.Status = webhook.StatusAccepted
	noReason := newsletterDone(req.ID)
	noReason.Retained = []connector.Retention{{What: "invoice 7"}}
	tests := []struct {
		name string
		cb   callback
		want int
	}{
		{"unknown key", callback{req.ID, newsletterDone(req.ID), "k-old", newsletterSecret, h.now}, http.StatusUnauthorized},
		{"wrong secret", callback{req.ID, newsletterDone(req.ID), "k-news", crmSecret, h.now}, http.StatusUnauthorized},
		{"stale timestamp", callback{req.ID, newsletterDone(req.ID), "k-news", newsletterSecret, h.now.Add(-10 * time.Minute)}, http.StatusUnauthorized},
		{"another store's key", callback{req.ID, newsletterDone(req.ID), "k-crm", crmSecret, h.now}, http.StatusUnauthorized},
		{"a store dsr has no key for", callback{req.ID, webhook.Answer{RequestID: req.ID, IdempotencyKey: webhook.IdempotencyKey(req.ID, domain.TypeRestrict, "ledger"), Status: webhook.StatusDone}, "k-news", newsletterSecret, h.now}, http.StatusUnauthorized},
		{"posted to another request's URL", callback{other.ID, newsletterDone(req.ID), "k-news", newsletterSecret, h.now}, http.StatusUnauthorized},
		{"not done", callback{req.ID, notDone, "k-news", newsletterSecret, h.now}, http.StatusBadRequest},
		{"retained without a reason", callback{req.ID, noReason, "k-news", newsletterSecret, h.now}, http.StatusBadRequest},
		{"not a callback", callback{req.ID, []string{"ada@example.com"}, "k-news", newsletterSecret, h.now}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		a := tc.cb.post(t, h.send)
		if a.code != tc.want || strings.Contains(a.body, "ada@") || strings.Contains(a.body, "v1=") {
			t.Errorf("%s: %d %s, want %d", tc.name, a.code, a.body, tc.want)
			continue
		}
		a.errorBody(t)
	}
	if len(h.engine.updates) != 0 {
		t.Errorf("refused callbacks reached the workflow: %+v", h.engine.updates)
	}
}

func TestCallbackOverTenMBAnswers413(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	body := strings.Repeat(" ", webhook.MaxBodyBytes+1)
	a := h.send(http.MethodPost, "/api/v1/callbacks/"+req.ID, body, "", http.Header{"Dsr-Key-Id": {"k-news"}})
	if a.code != http.StatusRequestEntityTooLarge {
		t.Errorf("large callback = %d %s, want 413", a.code, a.body)
	}
}

func TestCallbackLargerThanAnAPIBodyIsRead(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	big := newsletterDone(req.ID)
	big.Notes = []string{strings.Repeat("n", 100<<10)}
	if a := (callback{req.ID, big, "k-news", newsletterSecret, h.now}).post(t, h.send); a.code != http.StatusNoContent {
		t.Errorf("callback of 100 KB = %d %s, want 204", a.code, a.body)
	}
}

func TestCallbackForAnUnknownRequestAnswers404(t *testing.T) {
	h := newHarness(t, false)
	id := uuid.NewString()
	if a := (callback{id, newsletterDone(id), "k-news", newsletterSecret, h.now}).post(t, h.send); a.code != http.StatusNotFound {
		t.Errorf("callback for an unknown request = %d %s, want 404", a.code, a.body)
	}
}

func TestCallbackTheWorkflowRefusesAnswers409(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.engine.updateErr = temporal.NewApplicationError("the request does not use that store", "")
	a := callback{req.ID, newsletterDone(req.ID), "k-news", newsletterSecret, h.now}.post(t, h.send)
	if a.code != http.StatusConflict || a.errorBody(t).Message != "the request does not use that store" {
		t.Errorf("refused callback = %d %s, want 409 with the workflow's reason", a.code, a.body)
	}
}
