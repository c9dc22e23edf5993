package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
)

// limited returns a harness option that sets the rate limits, leaving the others unlimited.
func limited(change func(*api.RateLimits)) func(*api.Options) {
	return func(o *api.Options) {
		o.RateLimits = unlimited
		change(&o.RateLimits)
	}
}

func intakeBody(email string) string {
	return fmt.Sprintf(`{"type":"restrict","email":%q,"details":{"limits":["marketing_email"]}}`, email)
}

// wantRateLimited fails unless a is a 429 in the error shape with the Retry-After given.
func wantRateLimited(t *testing.T, what string, a answer, retryAfter string) {
	t.Helper()
	if a.code != http.StatusTooManyRequests {
		t.Fatalf("%s = %d %s, want 429", what, a.code, a.body)
	}
	if code := a.errorBody(t).Code; code != "rate_limited" {
		t.Errorf("%s: code %q, want rate_limited", what, code)
	}
	if got := a.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
}

func TestIntakeIsLimitedPerClientIP(t *testing.T) {
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.IntakePerIP = api.Rate{Events: 2, Per: time.Minute}
	}))
	const a, b = "198.51.100.1:4000", "198.51.100.2:4000"
	for i, body := range []string{intakeBody("one@example.com"), intakeBody("not an address")} {
		if got := h.sendFrom(a, http.MethodPost, "/api/v1/requests", body, "", nil); got.code == http.StatusTooManyRequests {
			t.Fatalf("intake %d = 429 within the limit", i)
		}
	}
	wantRateLimited(t, "third intake from one IP", h.sendFrom(a, http.MethodPost, "/api/v1/requests", intakeBody("two@example.com"), "", nil), "30")
	if got := h.sendFrom(b, http.MethodPost, "/api/v1/requests", intakeBody("two@example.com"), "", nil); got.code != http.StatusAccepted {
		t.Errorf("intake from another IP = %d %s, want 202", got.code, got.body)
	}
	h.now = h.now.Add(30 * time.Second)
	if got := h.sendFrom(a, http.MethodPost, "/api/v1/requests", intakeBody("three@example.com"), "", nil); got.code != http.StatusAccepted {
		t.Errorf("intake once a token refilled = %d %s, want 202", got.code, got.body)
	}
	if len(h.engine.started) != 3 {
		t.Errorf("%d workflows started, want 3", len(h.engine.started))
	}
}

func TestIntakeIsLimitedPerAddressAcrossIPs(t *testing.T) {
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.IntakePerAddress = api.Rate{Events: 1, Per: time.Hour}
	}))
	if got := h.sendFrom("198.51.100.1:4000", http.MethodPost, "/api/v1/requests", intakeBody("someone@example.com"), "", nil); got.code != http.StatusAccepted {
		t.Fatalf("first intake = %d %s", got.code, got.body)
	}
	again := h.sendFrom("203.0.113.9:4000", http.MethodPost, "/api/v1/requests", intakeBody(" SomeOne@EXAMPLE.com"), "", nil)
	wantRateLimited(t, "the same address, spelt otherwise, from another IP", again, "3600")
	if got := h.sendFrom("203.0.113.9:4000", http.MethodPost, "/api/v1/requests", intakeBody("other@example.com"), "", nil); got.code != http.StatusAccepted {
		t.Errorf("another address = %d %s, want 202", got.code, got.body)
	}
}

func TestVerificationIsLimitedPerRequest(t *testing.T) {
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.VerifyPerRequest = api.Rate{Events: 2, Per: time.Hour}
	}))
	mine, other := h.open(), h.open()
	path := "/api/v1/requests/" + mine.ID
	h.sendFrom("198.51.100.1:4000", http.MethodPost, path+"/verify", `{"code":"123456"}`, mine.StatusToken, nil)
	h.sendFrom("198.51.100.2:4000", http.MethodPost, path+"/resend-code", "", mine.StatusToken, nil)
	third := h.sendFrom("198.51.100.3:4000", http.MethodPost, path+"/identity", `{"answers":{"postal_code":"1"}}`, mine.StatusToken, nil)
	wantRateLimited(t, "third attempt on one request", third, "1800")
	if got := h.do(http.MethodPost, "/api/v1/requests/"+other.ID+"/verify", "", `{"code":"123456"}`, other.StatusToken); got.code != http.StatusOK {
		t.Errorf("verify on another request = %d %s, want 200", got.code, got.body)
	}
	if got := h.do(http.MethodGet, path, "", "", "not-the-token"); got.code != http.StatusUnauthorized {
		t.Errorf("reading status is not limited: %d %s", got.code, got.body)
	}
	if len(h.engine.updates) != 3 {
		t.Errorf("%d updates reached the engine, want 3", len(h.engine.updates))
	}
}

func TestVerificationIsLimitedPerIPBeforeTheToken(t *testing.T) {
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.VerifyPerIP = api.Rate{Events: 2, Per: time.Minute}
	}))
	req := h.open()
	for range 2 {
		if got := h.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", "", `{"code":"1"}`, "guess"); got.code != http.StatusUnauthorized {
			t.Fatalf("wrong token = %d %s, want 401", got.code, got.body)
		}
	}
	wantRateLimited(t, "third guess", h.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", "", `{"code":"1"}`, req.StatusToken), "30")
	if got := h.do(http.MethodGet, "/api/v1/requests/"+req.ID, "", "", req.StatusToken); got.code == http.StatusTooManyRequests {
		t.Error("reading status is limited")
	}
}

func TestForwardedForCountsOnlyBehindATrustedProxy(t *testing.T) {
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.IntakePerIP = api.Rate{Events: 1, Per: time.Hour}
	}), func(o *api.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	intake := func(remote, forwardedFor, email string) int {
		t.Helper()
		return h.sendFrom(remote, http.MethodPost, "/api/v1/requests", intakeBody(email), "",
			http.Header{"X-Forwarded-For": {forwardedFor}}).code
	}
	// Behind the proxy, each client counts apart; a client cannot hide behind an entry it
	// wrote itself, left of the one the proxy appended.
	if c := intake("10.0.0.1:80", "198.51.100.7", "a@example.com"); c != http.StatusAccepted {
		t.Errorf("first client behind the proxy = %d", c)
	}
	if c := intake("10.0.0.2:80", "192.0.2.50, 198.51.100.8, 10.0.0.1", "b@example.com"); c != http.StatusAccepted {
		t.Errorf("second client behind two proxies = %d", c)
	}
	if c := intake("10.0.0.1:80", "203.0.113.99, 198.51.100.7", "c@example.com"); c != http.StatusTooManyRequests {
		t.Errorf("first client again with a forged entry = %d, want 429", c)
	}
	// Anyone else is counted by the connection, whatever the header says.
	if c := intake("192.0.2.1:80", "198.51.100.20", "d@example.com"); c != http.StatusAccepted {
		t.Errorf("direct client = %d", c)
	}
	if c := intake("192.0.2.1:80", "198.51.100.21", "e@example.com"); c != http.StatusTooManyRequests {
		t.Errorf("direct client with another forwarded address = %d, want 429", c)
	}
}

func TestZeroRateLimitsMeanTheDefaults(t *testing.T) {
	h := newHarness(t, false, func(o *api.Options) { o.RateLimits = api.RateLimits{} })
	want := api.DefaultRateLimits()
	for i := range want.IntakePerIP.Burst {
		if a := h.do(http.MethodPost, "/api/v1/requests", "", intakeBody(fmt.Sprintf("p%d@example.com", i)), ""); a.code != http.StatusAccepted {
			t.Fatalf("intake %d of the default burst = %d %s", i, a.code, a.body)
		}
	}
	wantRateLimited(t, "one beyond the default burst", h.do(http.MethodPost, "/api/v1/requests", "", intakeBody("last@example.com"), ""), "6")
}
