package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
)

const keyID = "k1"

var secret = []byte("0123456789abcdef0123456789abcdef")

func keys(id string) ([]byte, bool) { return secret, id == keyID }

// service is a test server for one http store. It checks every request's signature
// and records the requests it accepted.
type service struct {
	*httptest.Server
	requests chan webhook.Request
	hits     atomic.Int32
}

func newService(t *testing.T, answer func(w http.ResponseWriter, r webhook.Request)) *service {
	s := &service{requests: make(chan webhook.Request, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		req, err := webhook.ParseRequestOrPlan(r, keys, time.Now())
		if err != nil {
			t.Errorf("service: %v", err)
			http.Error(w, "not authenticated", http.StatusUnauthorized)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("service: Content-Type %q", ct)
		}
		s.requests <- req
		answer(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *service) connector(cfg webhook.Config) *webhook.Connector {
	cfg.URL, cfg.KeyID, cfg.Secret = s.URL, keyID, secret
	return webhook.New("newsletter", cfg)
}

// answering returns a service handler that answers every request with code and v.
func answering(code int, v any) func(http.ResponseWriter, webhook.Request) {
	return func(w http.ResponseWriter, _ webhook.Request) { writeJSON(w, code, v) }
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(err)
	}
}

var (
	ctx    = context.Background()
	review = connector.Operation{RequestID: "req-1", Type: domain.TypeReview, Email: "ada@example.com"}
)

func TestApplyPostsASignedRequestAndReturnsTheDirectResult(t *testing.T) {
	until := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	s := newService(t, answering(http.StatusOK, webhook.Answer{Status: webhook.StatusDone,
		Changed:  []string{"name"},
		Retained: []connector.Retention{{What: "invoice 7", Reason: "Tax law (GDPR Art. 17(3)(b))", Until: until}},
		Notes:    []string{"Points expire with the account."}}))
	op := connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: " Ada@Example.com ",
		Details: domain.Details{Scope: &domain.SuppressScope{Categories: []string{"name"}}}}

	r, err := s.connector(webhook.Config{}).Apply(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "result", r, connector.Result{Store: "newsletter", Changed: []string{"name"},
		Retained: []connector.Retention{{What: "invoice 7", Reason: "Tax law (GDPR Art. 17(3)(b))", Until: until}},
		Notes:    []string{"Points expire with the account."}})
	same(t, "request", <-s.requests, webhook.Request{RequestID: "req-1", Operation: domain.TypeSuppress,
		Email: "ada@example.com", Details: op.Details, IdempotencyKey: "req-1:suppress:newsletter"})
}

func TestApplyReturnsAReviewExport(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]any{"status": "done", "found": []string{"name"},
		"export": map[string]any{"subscriber": map[string]any{"name": "Ada Lovelace"}}}))
	r, err := s.connector(webhook.Config{}).Apply(ctx, review)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "result", r, connector.Result{Store: "newsletter", Found: []string{"name"},
		Export: map[string]any{"subscriber": map[string]any{"name": "Ada Lovelace"}}})
}

// A service names the recipients the person's data went to; dsr tells only those.
func TestApplyReturnsTheRecipientsTheServiceSaysReceivedTheData(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]any{"status": "done", "changed": []string{"marketing_email"},
		"disclosed_to": []map[string]any{{"recipient": "Partner AB", "since": "2024-03-01T00:00:00Z"}, {"recipient": "Mailer Inc"}}}))
	r, err := s.connector(webhook.Config{}).Apply(ctx, connector.Operation{RequestID: "req-1", Type: domain.TypeRestrict,
		Email: "ada@example.com", Details: domain.Details{Limits: []domain.RestrictLimit{domain.LimitMarketingEmail}}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "disclosed to", r.DisclosedTo, []connector.Disclosure{
		{Recipient: "Partner AB", Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}, {Recipient: "Mailer Inc"}})
}

func TestRetriedApplySendsTheSameIdempotencyKey(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]any{"status": "done", "not_found": true}))
	c := s.connector(webhook.Config{})
	for range 2 {
		r, err := c.Apply(ctx, review)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "result", r, connector.Result{Store: "newsletter", NotFound: true})
	}
	same(t, "keys", []string{(<-s.requests).IdempotencyKey, (<-s.requests).IdempotencyKey},
		[]string{"req-1:review:newsletter", "req-1:review:newsletter"})
}

func TestAcceptedAnswerReturnsPending(t *testing.T) {
	s := newService(t, answering(http.StatusAccepted, map[string]string{"status": "accepted"}))
	c := s.connector(webhook.Config{CallbackURL: func(id string) string { return "https://dsr.example/api/v1/callbacks/" + id }})

	_, err := c.Apply(ctx, review)
	var pending *webhook.Pending
	if !errors.As(err, &pending) {
		t.Fatalf("got %v, want *webhook.Pending", err)
	}
	same(t, "pending", *pending, webhook.Pending{Store: "newsletter", RequestID: "req-1", Operation: domain.TypeReview,
		IdempotencyKey: "req-1:review:newsletter"})
	same(t, "callback URL", (<-s.requests).CallbackURL, "https://dsr.example/api/v1/callbacks/req-1")
	if errors.Is(err, connector.ErrPermanent) {
		t.Error("pending is permanent")
	}
}

func TestAcceptedAnswerWithoutCallbackURLIsPermanent(t *testing.T) {
	s := newService(t, answering(http.StatusAccepted, map[string]string{"status": "accepted"}))
	_, err := s.connector(webhook.Config{}).Apply(ctx, review)
	if !errors.Is(err, connector.ErrPermanent) {
		t.Fatalf("got %v, want ErrPermanent", err)
	}
	same(t, "callback URL", (<-s.requests).CallbackURL, "")
}

func TestStatusCodesDecideWhetherToRetry(t *testing.T) {
	for code, permanent := range map[int]bool{
		400: true, 401: true, 403: true, 404: true, 409: true, 422: true, 204: true,
		408: false, 429: false, 500: false, 502: false, 503: false, 504: false,
	} {
		s := newService(t, func(w http.ResponseWriter, _ webhook.Request) { w.WriteHeader(code) })
		_, err := s.connector(webhook.Config{}).Apply(ctx, review)
		if err == nil || errors.Is(err, connector.ErrPermanent) != permanent {
			t.Errorf("%d: got %v, want permanent %v", code, err, permanent)
		}
		if err != nil && !strings.Contains(err.Error(), http.StatusText(code)) {
			t.Errorf("%d: error %q does not name the status", code, err)
		}
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer elsewhere.Close()
	s := newService(t, func(w http.ResponseWriter, _ webhook.Request) {
		w.Header().Set("Location", elsewhere.URL)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	_, err := s.connector(webhook.Config{Client: &http.Client{}}).Apply(ctx, review)
	if !errors.Is(err, connector.ErrPermanent) {
		t.Errorf("got %v, want ErrPermanent", err)
	}
	if followed.Load() {
		t.Error("the request followed the redirect")
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	s := newService(t, func(w http.ResponseWriter, _ webhook.Request) { <-release })
	defer close(release)
	start := time.Now()
	_, err := s.connector(webhook.Config{Timeout: 50 * time.Millisecond}).Apply(ctx, review)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, connector.ErrPermanent) {
		t.Errorf("got %v, want a retryable deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Apply returned after %s", d)
	}
}

func TestCancelledContextStopsTheRequest(t *testing.T) {
	release := make(chan struct{})
	s := newService(t, func(w http.ResponseWriter, _ webhook.Request) { <-release })
	defer close(release)
	ctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := s.connector(webhook.Config{}).Apply(ctx, review)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestUnreachableServiceIsRetryable(t *testing.T) {
	s := newService(t, answering(http.StatusOK, nil))
	c := s.connector(webhook.Config{})
	s.Close()
	_, err := c.Apply(ctx, review)
	if err == nil || errors.Is(err, connector.ErrPermanent) {
		t.Errorf("got %v, want a retryable error", err)
	}
}

func TestOversizedAnswerIsRefused(t *testing.T) {
	for name, length := range map[string]bool{"declared": true, "chunked": false} {
		t.Run(name, func(t *testing.T) {
			s := newService(t, func(w http.ResponseWriter, _ webhook.Request) {
				answer := []byte(`{"status":"done",` + strings.Repeat(" ", webhook.MaxBodyBytes) + `"notes":[]}`)
				if length {
					w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
				}
				w.WriteHeader(http.StatusOK)
				w.Write(answer)
			})
			_, err := s.connector(webhook.Config{}).Apply(ctx, review)
			if !errors.Is(err, webhook.ErrTooLarge) || !errors.Is(err, connector.ErrPermanent) {
				t.Errorf("got %v, want ErrTooLarge and ErrPermanent", err)
			}
		})
	}
}

func TestAnswerOutsideTheProtocolIsPermanent(t *testing.T) {
	for name, answer := range map[string]string{
		"not JSON":                 `<html>OK</html>`,
		"status accepted with 200": `{"status":"accepted"}`,
		"no status":                `{"found":["name"]}`,
		"retained without reason":  `{"status":"done","retained":[{"what":"invoice 7"}]}`,
		"until not a date":         `{"status":"done","retained":[{"what":"invoice 7","reason":"tax","until":"soon"}]}`,
		"recipient without a name": `{"status":"done","disclosed_to":[{"since":"2024-03-01T00:00:00Z"}]}`,
	} {
		s := newService(t, func(w http.ResponseWriter, _ webhook.Request) { w.Write([]byte(answer)) })
		_, err := s.connector(webhook.Config{}).Apply(ctx, review)
		if !errors.Is(err, connector.ErrPermanent) || !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrPermanent and domain.ErrInvalid", name, err)
		}
	}
}

func TestErrorsNeverQuoteTheAnswer(t *testing.T) {
	const pii = "ada.lovelace@example.com"
	raw := func(response string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			buf.WriteString(response)
			buf.Flush()
		}
	}
	for name, handler := range map[string]http.HandlerFunc{
		"body of a 500": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no subscriber "+pii, http.StatusInternalServerError)
		},
		"body of a 400": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"unknown `+pii+`"}`, http.StatusBadRequest)
		},
		"200 that is not JSON": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(pii)) },
		"200 with a wrong type": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"done","found":"` + pii + `"}`))
		},
		"200 with a bad date": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"done","retained":[{"what":"x","reason":"y","until":"` + pii + `"}]}`))
		},
		"reason phrase": raw("HTTP/1.1 500 " + pii + "\r\nContent-Length: 0\r\n\r\n"),
		"not HTTP":      raw(pii + "\r\n\r\n"),
		"bad header":    raw("HTTP/1.1 200 OK\r\n" + pii + "\r\n\r\n"),
	} {
		srv := httptest.NewServer(handler)
		_, err := webhook.New("newsletter", webhook.Config{URL: srv.URL, KeyID: keyID, Secret: secret}).Apply(ctx, review)
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "lovelace") {
			t.Errorf("%s: error quotes the answer: %v", name, err)
		}
	}
}

func TestInvalidOperationsAreNotSent(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]string{"status": "done"}))
	c := s.connector(webhook.Config{})
	for name, op := range map[string]connector.Operation{
		"no request ID":       {Type: domain.TypeReview, Email: "ada@example.com"},
		"no address":          {RequestID: "req-1", Type: domain.TypeReview, Email: " "},
		"not an address":      {RequestID: "req-1", Type: domain.TypeReview, Email: "Lovelace <ada@example.com>"},
		"unknown type":        {RequestID: "req-1", Type: "erase", Email: "ada@example.com"},
		"colon in request ID": {RequestID: "req:1", Type: domain.TypeReview, Email: "ada@example.com"},
	} {
		_, err := c.Apply(ctx, op)
		if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, connector.ErrPermanent) || strings.Contains(err.Error(), "Lovelace") {
			t.Errorf("%s: got %v, want domain.ErrInvalid and ErrPermanent without the address", name, err)
		}
	}
	same(t, "requests sent", s.hits.Load(), int32(0))
}

func TestNoticesWithoutAValidAddressAreNotSent(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]string{"status": "done"}))
	c := s.connector(webhook.Config{})
	for _, email := range []string{" ", "Lovelace <ada@example.com>"} {
		_, err := c.Notify(ctx, webhook.RecipientNotice{RequestID: "req-1", Operation: domain.TypeSuppress, Email: email})
		if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, connector.ErrPermanent) || strings.Contains(err.Error(), "Lovelace") {
			t.Errorf("%q: got %v, want domain.ErrInvalid and ErrPermanent without the address", email, err)
		}
	}
	same(t, "notices sent", s.hits.Load(), int32(0))
}

func TestConnectorWithoutSecretIsPermanentlyMisconfigured(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]string{"status": "done"}))
	_, err := webhook.New("newsletter", webhook.Config{URL: s.URL, KeyID: keyID}).Apply(ctx, review)
	if !errors.Is(err, connector.ErrPermanent) {
		t.Errorf("got %v, want ErrPermanent", err)
	}
	same(t, "requests sent", s.hits.Load(), int32(0))
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestPlanAsksTheServiceAndReturnsItsPlan(t *testing.T) {
	tables := []connector.TableChange{{Table: "subscribers", Matched: 1, Columns: []connector.ColumnChange{{Column: "name", Action: connector.ActionNull, Rows: 1}}}}
	s := newService(t, answering(http.StatusOK, webhook.Answer{Status: webhook.StatusPlanned, Tables: tables}))
	op := connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: "ada@example.com",
		Details: domain.Details{Scope: &domain.SuppressScope{All: true}}}

	p, err := s.connector(webhook.Config{CallbackURL: func(id string) string { return "https://dsr.example/cb/" + id }}).Capabilities().Planner.Plan(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "plan", p, connector.ChangePlan{Store: "newsletter", Tables: tables})
	same(t, "request", <-s.requests, webhook.Request{RequestID: "req-1", Operation: webhook.PlanOperation, PlanOf: domain.TypeSuppress,
		Email: "ada@example.com", Details: op.Details, IdempotencyKey: "req-1:plan:newsletter"})
}

func TestAServiceThatCannotPlanSaysSo(t *testing.T) {
	op := connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: "ada@example.com"}
	for _, answer := range []func(http.ResponseWriter, webhook.Request){
		answering(http.StatusOK, map[string]any{"status": "cannot_plan"}),
		answering(http.StatusBadRequest, map[string]any{"error": "unknown operation"}),
		answering(http.StatusNotImplemented, map[string]any{}),
		// A receiver from before the plan operation that refuses what it cannot parse.
		answering(http.StatusUnauthorized, map[string]any{"error": "bad request signature"}),
	} {
		s := newService(t, answer)
		p, err := s.connector(webhook.Config{}).Plan(ctx, op)
		if err != nil || p.Store != "newsletter" || !strings.HasPrefix(p.CannotPlan, "the service does not plan changes") {
			t.Errorf("plan = %+v, %v; want one that says the service cannot plan", p, err)
		}
	}
}

func TestAPlanOutsideTheProtocolIsPermanent(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]any{"status": "planned",
		"tables": []map[string]any{{"table": "subscribers", "columns": []map[string]any{{"column": "name", "action": "shred"}}}}}))
	_, err := s.connector(webhook.Config{}).Plan(ctx, connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: "ada@example.com"})
	if !errors.Is(err, connector.ErrPermanent) {
		t.Fatalf("err = %v, want a permanent failure", err)
	}
}

// A service written before plans, reading requests with ParseRequest, refuses a plan with
// 501 instead of taking it for a change, and dsr records that it cannot plan.
func TestAServiceThatOnlyAppliesRefusesAPlanAndIsNotChanged(t *testing.T) {
	var applied atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := webhook.ParseRequest(r, keys, time.Now())
		if err != nil {
			http.Error(w, "refused", webhook.RefusalStatus(err))
			return
		}
		applied.Add(1)
		writeJSON(w, http.StatusOK, webhook.Answer{Status: webhook.StatusDone, Changed: []string{"name"}, RequestID: req.RequestID})
	}))
	t.Cleanup(srv.Close)
	c := webhook.New("newsletter", webhook.Config{URL: srv.URL, KeyID: keyID, Secret: secret})
	p, err := c.Plan(ctx, connector.Operation{RequestID: "req-1", Type: domain.TypeSuppress, Email: "ada@example.com"})
	if err != nil || p.CannotPlan != "the service does not plan changes (it answered 501)" || applied.Load() != 0 {
		t.Fatalf("plan = %+v, %v, applied %d times; want cannot plan and nothing applied", p, err, applied.Load())
	}
}
