package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
)

// callbackRequest is a callback as a service posts it, signed at the given time.
func callbackRequest(t testing.TB, a any, key []byte, at time.Time) *http.Request {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/callbacks/req-1", bytes.NewReader(b))
	webhook.SignHeader(r.Header, keyID, key, b, at)
	return r
}

var done = webhook.Answer{RequestID: "req-1", IdempotencyKey: "req-1:suppress:newsletter", Status: webhook.StatusDone,
	Changed: []string{"name"}, Retained: []connector.Retention{{What: "invoice 7", Reason: "Tax law", Until: time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)}}}

func TestParseCallbackReturnsTheVerifiedResult(t *testing.T) {
	cb, err := webhook.ParseCallback(callbackRequest(t, done, secret, now), keys, now)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "callback", cb, webhook.Callback{RequestID: "req-1", Store: "newsletter", Operation: domain.TypeSuppress, KeyID: keyID,
		Result: connector.Result{Store: "newsletter", Changed: done.Changed, Retained: done.Retained}})
}

func TestParseCallbackRejectsWhatItCannotTrust(t *testing.T) {
	otherRequest := done
	otherRequest.RequestID = "req-2"
	accepted := done
	accepted.Status = webhook.StatusAccepted
	tests := []struct {
		name    string
		request func() *http.Request
		want    error
	}{
		{"wrong key", func() *http.Request { return callbackRequest(t, done, []byte("another secret of sixteen"), now) }, webhook.ErrSignature},
		{"unknown key ID", func() *http.Request {
			r := callbackRequest(t, done, secret, now)
			r.Header.Set("Dsr-Key-Id", "k2")
			return r
		}, webhook.ErrSignature},
		{"no key ID", func() *http.Request {
			r := callbackRequest(t, done, secret, now)
			r.Header.Del("Dsr-Key-Id")
			return r
		}, webhook.ErrSignature},
		{"tampered body", func() *http.Request {
			r := callbackRequest(t, done, secret, now)
			b := new(bytes.Buffer)
			b.ReadFrom(r.Body)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(b.String(), `"name"`, `"phone"`, 1)))
			return r
		}, webhook.ErrSignature},
		{"old timestamp", func() *http.Request { return callbackRequest(t, done, secret, now.Add(-6*time.Minute)) }, webhook.ErrSignature},
		{"too large", func() *http.Request {
			big := done
			big.Notes = []string{strings.Repeat("x", webhook.MaxBodyBytes)}
			return callbackRequest(t, big, secret, now)
		}, webhook.ErrTooLarge},
		{"idempotency key of another request", func() *http.Request { return callbackRequest(t, otherRequest, secret, now) }, domain.ErrInvalid},
		{"not done", func() *http.Request { return callbackRequest(t, accepted, secret, now) }, domain.ErrInvalid},
		{"dsr's own request posted back", func() *http.Request {
			return callbackRequest(t, webhook.Request{RequestID: "req-1", Operation: domain.TypeSuppress, Email: "ada@example.com",
				IdempotencyKey: "req-1:suppress:newsletter"}, secret, now)
		}, domain.ErrInvalid},
		{"not JSON", func() *http.Request { return callbackRequest(t, "ada@example.com", secret, now) }, domain.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.ParseCallback(tt.request(), keys, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "ada@") {
				t.Errorf("error quotes the body: %v", err)
			}
		})
	}
}

// TestCallbackCompletesAPendingOperation runs both sides: the service answers 202 and
// later posts its result to dsr's callback endpoint, which verifies it with the store's key.
func TestCallbackCompletesAPendingOperation(t *testing.T) {
	callbacks := make(chan webhook.Callback, 1)
	var conn *webhook.Connector
	dsr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := webhook.ParseCallback(r, webhook.CallbackKeys(conn), time.Now())
		if err != nil {
			t.Errorf("dsr: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		callbacks <- cb
		w.WriteHeader(http.StatusNoContent)
	}))
	defer dsr.Close()

	s := newService(t, func(w http.ResponseWriter, req webhook.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
		go func() {
			b, err := json.Marshal(webhook.Answer{RequestID: req.RequestID, IdempotencyKey: req.IdempotencyKey,
				Status: webhook.StatusDone, Changed: []string{"name"}})
			if err != nil {
				t.Error(err)
				return
			}
			r, err := http.NewRequest(http.MethodPost, req.CallbackURL, bytes.NewReader(b))
			if err != nil {
				t.Error(err)
				return
			}
			webhook.SignHeader(r.Header, keyID, secret, b, time.Now())
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	})
	conn = s.connector(webhook.Config{CallbackURL: func(id string) string { return dsr.URL + "/api/v1/callbacks/" + id }})

	_, err := conn.Apply(ctx, connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: "ada@example.com",
		Details: domain.Details{Scope: &domain.SuppressScope{All: true}}})
	var pending *webhook.Pending
	if !errors.As(err, &pending) {
		t.Fatalf("got %v, want *webhook.Pending", err)
	}
	select {
	case cb := <-callbacks:
		same(t, "callback", cb, webhook.Callback{RequestID: pending.RequestID, Store: pending.Store, Operation: pending.Operation,
			KeyID: conn.KeyID(), Result: connector.Result{Store: "newsletter", Changed: []string{"name"}}})
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
}

func TestParseRequestRejectsAnUnknownOperation(t *testing.T) {
	b := []byte(`{"request_id":"req-1","operation":"erase","email":"ada@example.com","idempotency_key":"k"}`)
	r := httptest.NewRequest(http.MethodPost, "/dsr", bytes.NewReader(b))
	webhook.SignHeader(r.Header, keyID, secret, b, now)
	_, err := webhook.ParseRequest(r, keys, now)
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v, want domain.ErrInvalid", err)
	}
	same(t, "error", err.Error(), "request: operation is not a known request type: invalid")
}
