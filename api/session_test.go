package api_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/workflows"
)

// dashboard is a browser signed in to the dashboard.
type dashboard struct {
	h      *harness
	cookie *http.Cookie
	answer api.SessionAnswer
}

// signIn signs a dashboard in with an API token.
func (h *harness) signIn(token string) dashboard {
	h.t.Helper()
	a := h.do(http.MethodPost, "/api/v1/session", "", `{"token":"`+token+`"}`, "")
	if a.code != http.StatusOK {
		h.t.Fatalf("sign in = %d %s, want 200", a.code, a.body)
	}
	d := dashboard{h: h, cookie: sessionCookie(h.t, a)}
	if err := json.Unmarshal([]byte(a.body), &d.answer); err != nil {
		h.t.Fatal(err)
	}
	return d
}

func sessionCookie(t *testing.T, a answer) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", api.SessionCookie, a.header)
	return nil
}

// send makes a request with the session cookie and, unless csrf is "", that CSRF token.
func (d dashboard) send(method, path, body, csrf string) answer {
	d.h.t.Helper()
	headers := http.Header{"Cookie": {d.cookie.Name + "=" + d.cookie.Value}}
	if csrf != "" {
		headers.Set("X-CSRF-Token", csrf)
	}
	return d.h.send(method, path, body, "", headers)
}

func TestSessionCookieSignsTheDashboardIn(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			h := newHarnessOn(t, target.URL, false)
			d := h.signIn(h.token("carol", auth.RoleAnalyst))
			if d.answer.Role != auth.RoleAnalyst || d.answer.Name != "carol" || d.answer.CSRFToken == "" {
				t.Errorf("answer = %+v, want carol, analyst and a CSRF token", d.answer)
			}
			if !d.answer.ExpiresAt.Equal(h.now.Add(12 * time.Hour).Truncate(time.Microsecond)) {
				t.Errorf("expires_at = %v, want 12 hours on", d.answer.ExpiresAt)
			}
			if a := d.send(http.MethodGet, "/api/v1/admin/requests", "", ""); a.code != http.StatusOK {
				t.Errorf("list by cookie = %d %s, want 200", a.code, a.body)
			}
			h.now = h.now.Add(12 * time.Hour)
			if a := d.send(http.MethodGet, "/api/v1/admin/requests", "", ""); a.code != http.StatusUnauthorized {
				t.Errorf("list by a 12 hour old cookie = %d %s, want 401", a.code, a.body)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	c := d.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*60*60 || c.Secure {
		t.Errorf("cookie over plain HTTP = %+v, want HttpOnly, SameSite=Strict, Path=/, Max-Age 12 h, not Secure", c)
	}
	if len(c.Value) < 40 {
		t.Errorf("session ID %q is too short to be random", c.Value)
	}
}

func TestSessionCookieIsSecureOverTLS(t *testing.T) {
	token := ""
	signIn := func(h *harness, remote string, tlsState *tls.ConnectionState, headers http.Header) *http.Cookie {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/session", strings.NewReader(`{"token":"`+token+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr, req.TLS = remote, tlsState
		for k, v := range headers {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		return sessionCookie(t, answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()})
	}
	proxied := http.Header{"X-Forwarded-Proto": {"https"}}
	h := newHarness(t, false, func(o *api.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	token = h.token("carol", auth.RoleAnalyst)
	for _, c := range []struct {
		name   string
		remote string
		tls    *tls.ConnectionState
		header http.Header
		want   bool
	}{
		{"direct TLS", "192.0.2.1:1", &tls.ConnectionState{}, nil, true},
		{"trusted proxy that ended TLS", "10.0.0.1:1", nil, proxied, true},
		{"untrusted client claiming TLS", "192.0.2.1:1", nil, proxied, false},
	} {
		if got := signIn(h, c.remote, c.tls, c.header).Secure; got != c.want {
			t.Errorf("%s: Secure = %v, want %v", c.name, got, c.want)
		}
	}
	always := newHarness(t, false, func(o *api.Options) { o.SecureCookies = true })
	token = always.token("carol", auth.RoleAnalyst)
	if !signIn(always, "192.0.2.1:1", nil, nil).Secure {
		t.Error("SecureCookies: cookie is not Secure")
	}
}

func TestSessionChangesNeedTheCSRFToken(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	secret, tok, err := h.tokens.Create(context.Background(), "carol", auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	d := h.signIn(secret)
	notes := "/api/v1/admin/requests/" + req.ID + "/notes"
	for _, csrf := range []string{"", "forged", strings.ToUpper(d.answer.CSRFToken)} {
		a := d.send(http.MethodPost, notes, `{"text":"called back"}`, csrf)
		if a.code != http.StatusForbidden || a.errorBody(t).Code != "csrf" {
			t.Errorf("note with CSRF token %q = %d %s, want 403 csrf", csrf, a.code, a.body)
		}
	}
	if len(h.engine.updates) != 0 {
		t.Fatalf("a change without its CSRF token reached the engine: %v", h.engine.updates)
	}
	h.engine.updateErr = temporal.NewApplicationError("the workflow's answer", "")
	if a := d.send(http.MethodPost, notes, `{"text":"called back"}`, d.answer.CSRFToken); a.code != http.StatusConflict {
		t.Errorf("note with the CSRF token = %d %s, want the workflow's answer", a.code, a.body)
	}
	want := workflows.AddNoteInput{Actor: workflows.Actor{Name: "carol", Role: "analyst", ID: tok.ID}, Text: "called back"}
	if len(h.engine.updates) != 1 || h.engine.updates[0].Args[0] != want {
		t.Errorf("updates = %+v, want one note by carol", h.engine.updates)
	}
}

func TestSessionFormCarriesTheCSRFTokenAsAField(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("dana", auth.RoleAdmin))
	form := url.Values{"type": {"child_erasure"}, "email": {"kid@example.com"}, "details": {`{"reason":"a parent asked"}`}}
	headers := http.Header{"Cookie": {d.cookie.Name + "=" + d.cookie.Value}, "Content-Type": {"application/x-www-form-urlencoded"}}
	if a := h.send(http.MethodPost, "/api/v1/admin/requests", form.Encode(), "", headers); a.code != http.StatusForbidden {
		t.Errorf("form without csrf_token = %d %s, want 403", a.code, a.body)
	}
	form.Set("csrf_token", d.answer.CSRFToken)
	if a := h.send(http.MethodPost, "/api/v1/admin/requests", form.Encode(), "", headers); a.code != http.StatusAccepted {
		t.Errorf("form with csrf_token = %d %s, want 202", a.code, a.body)
	}
}

func TestBearerTokenNeedsNoCSRFTokenBesideACookie(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	token := h.token("carol", auth.RoleAnalyst)
	d := h.signIn(token)
	headers := http.Header{"Cookie": {d.cookie.Name + "=" + d.cookie.Value}}
	h.engine.updateErr = temporal.NewApplicationError("the workflow's answer", "")
	a := h.send(http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/notes", `{"text":"t"}`, token, headers)
	if a.code != http.StatusConflict {
		t.Errorf("note by bearer token = %d %s, want the workflow's answer", a.code, a.body)
	}
}

func TestSessionKeepsItsTokensRole(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	d := h.signIn(h.token("ann", auth.RoleAuditor))
	if d.answer.Role != auth.RoleAuditor {
		t.Errorf("role = %s, want auditor", d.answer.Role)
	}
	if a := d.send(http.MethodGet, "/api/v1/audit/events", "", ""); a.code != http.StatusOK {
		t.Errorf("audit log by an auditor's cookie = %d %s, want 200", a.code, a.body)
	}
	if a := d.send(http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/approve", "", d.answer.CSRFToken); a.code != http.StatusForbidden {
		t.Errorf("approval by an auditor's cookie = %d %s, want 403", a.code, a.body)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	if a := d.send(http.MethodDelete, "/api/v1/session", "", ""); a.code != http.StatusForbidden {
		t.Errorf("sign out without the CSRF token = %d %s, want 403", a.code, a.body)
	}
	a := d.send(http.MethodDelete, "/api/v1/session", "", d.answer.CSRFToken)
	if a.code != http.StatusNoContent {
		t.Fatalf("sign out = %d %s, want 204", a.code, a.body)
	}
	if cleared := sessionCookie(t, a); cleared.Value != "" || cleared.MaxAge >= 0 {
		t.Errorf("cookie after sign out = %+v, want it cleared", cleared)
	}
	if a := d.send(http.MethodGet, "/api/v1/admin/requests", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("list after sign out = %d %s, want 401", a.code, a.body)
	}
	if a := d.send(http.MethodDelete, "/api/v1/session", "", ""); a.code != http.StatusNoContent {
		t.Errorf("sign out of an ended session = %d %s, want 204", a.code, a.body)
	}
}

func TestRevokingTheTokenEndsItsSessions(t *testing.T) {
	h := newHarness(t, false)
	secret, tok, err := h.tokens.Create(context.Background(), "carol", auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	d := h.signIn(secret)
	if err := h.tokens.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if a := d.send(http.MethodGet, "/api/v1/admin/requests", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("list by the session of a revoked token = %d %s, want 401", a.code, a.body)
	}
	if a := h.do(http.MethodPost, "/api/v1/session", "", `{"token":"`+secret+`"}`, ""); a.code != http.StatusUnauthorized {
		t.Errorf("sign in with a revoked token = %d %s, want 401", a.code, a.body)
	}
}

func TestSignInRefusesABadToken(t *testing.T) {
	h := newHarness(t, false)
	for body, want := range map[string]int{
		`{"token":"nonsense"}`: http.StatusUnauthorized,
		`{"token":" "}`:        http.StatusUnprocessableEntity,
		`{"token":1}`:          http.StatusBadRequest,
		`{"token":"x","y":1}`:  http.StatusBadRequest,
	} {
		a := h.do(http.MethodPost, "/api/v1/session", "", body, "")
		if a.code != want || a.header.Get("Set-Cookie") != "" {
			t.Errorf("sign in with %s = %d %s, want %d and no cookie", body, a.code, a.body, want)
		}
	}
	if a := h.do(http.MethodPost, "/api/v1/session", "text/plain", `{"token":"x"}`, ""); a.code != http.StatusUnsupportedMediaType {
		t.Errorf("sign in as text/plain = %d, want 415: a form on another site must not sign a browser in", a.code)
	}
}

func TestSessionIDIsStoredOnlyAsItsHash(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	var hashes []string
	if err := h.db.Table("dashboard_sessions").Pluck("id_hash", &hashes).Error; err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 1 || hashes[0] != keys.HashToken(d.cookie.Value) {
		t.Errorf("stored %v, want only the hash of the session ID", hashes)
	}
}
