package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/dsr-project/dsr/internal/auth"
)

func TestEveryErrorAnswerHasTheOneShape(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	admin := h.token("dana", auth.RoleAdmin)
	auditor := h.token("ann", auth.RoleAuditor)
	// Status reads come from the database; an action needs the engine.
	h.engine.updateErr = serviceerror.NewUnavailable("engine down")
	for _, c := range []struct {
		name, method, path, contentType, body, token string
		status                                       int
		code                                         string
	}{
		{"unknown route", http.MethodGet, "/api/v1/nothing", "", "", "", 404, "not_found"},
		{"wrong method", http.MethodDelete, "/api/v1/requests", "", "", "", 405, "method_not_allowed"},
		{"malformed JSON", http.MethodPost, "/api/v1/requests", "", `{"type":`, "", 400, "bad_request"},
		{"wrong content type", http.MethodPost, "/api/v1/requests", "text/plain", `{}`, "", 415, "unsupported_media_type"},
		{"too large", http.MethodPost, "/api/v1/requests", "", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, "", 413, "body_too_large"},
		{"invalid fields", http.MethodPost, "/api/v1/requests", "", `{"type":"review","email":"nope"}`, "", 422, "invalid"},
		{"staff-only type", http.MethodPost, "/api/v1/requests", "", `{"type":"child_erasure","email":"a@example.com","details":{"reason":"r"}}`, "", 403, "forbidden"},
		{"no status token", http.MethodGet, "/api/v1/requests/" + req.ID, "", "", "", 401, "unauthorized"},
		{"report too early", http.MethodGet, "/api/v1/requests/" + req.ID + "/report", "", "", req.StatusToken, 409, "request_not_completed"},
		{"no API token", http.MethodGet, "/api/v1/admin/requests", "", "", "", 401, "unauthorized"},
		{"auditor on staff routes", http.MethodGet, "/api/v1/admin/requests", "", "", auditor, 403, "forbidden"},
		{"unknown list parameter", http.MethodGet, "/api/v1/admin/requests?statuses=x", "", "", admin, 400, "bad_request"},
		{"unknown request", http.MethodGet, "/api/v1/admin/requests/0b6f0d36-8f7a-4a8e-9d0c-1b2a3c4d5e6f", "", "", admin, 404, "not_found"},
		{"engine down", http.MethodPost, "/api/v1/requests/" + req.ID + "/verify", "", `{"code":"123456"}`, req.StatusToken, 503, "unavailable"},
	} {
		a := h.do(c.method, c.path, c.contentType, c.body, c.token)
		if a.code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, a.code, a.body, c.status)
			continue
		}
		if got := a.errorBody(t); got.Code != c.code {
			t.Errorf("%s: code %q, want %q", c.name, got.Code, c.code)
		}
		if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q, want JSON", c.name, a.header.Get("Content-Type"))
		}
	}
}

func TestUnavailableAnswersSayWhenToRetry(t *testing.T) {
	h := newHarness(t, false)
	h.engine.startErr = errors.New("down")
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"restrict","email":"a@example.com","details":{"limits":["marketing_email"]}}`, "")
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || a.errorBody(t).Code != "unavailable" {
		t.Errorf("engine down = %d %s (Retry-After %q), want 503 unavailable with Retry-After", a.code, a.body, a.header.Get("Retry-After"))
	}
}
