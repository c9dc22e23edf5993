package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/drp"
)

// withDRPAgents turns the protocol on with the agents in its directory.
func withDRPAgents(t *testing.T, agents ...*drpAgent) func(*api.Options) {
	t.Helper()
	entries := "["
	for i, a := range agents {
		if i > 0 {
			entries += ","
		}
		entries += a.entry()
	}
	dir, err := drp.ParseDirectory("agents.json", []byte(entries+"]"))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *api.Options) { o.DRP = &drp.Options{Directory: dir, BusinessID: drpBusinessID} }
}

// wantDRPRateLimited fails unless a is a 429 in the error shape of section 3.06, retryable.
func wantDRPRateLimited(t *testing.T, what string, a answer, retryAfter string) {
	t.Helper()
	var body drp.ErrorBody
	if a.code != http.StatusTooManyRequests || drp.ValidateDocument(drp.SchemaError, []byte(a.body)) != nil || json.Unmarshal([]byte(a.body), &body) != nil {
		t.Fatalf("%s = %d %s, want 429 in the shape of 3.06", what, a.code, a.body)
	}
	if body.Code != "429" || body.Fatal {
		t.Errorf("%s: %+v, want code 429 and not fatal", what, body)
	}
	if got := a.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
}

// drpSetUp runs the key setup from ip through the harness and returns the answer.
func drpSetUp(t *testing.T, h *harness, a *drpAgent, ip string) answer {
	t.Helper()
	return h.sendFrom(ip, http.MethodPost, "/v1/agent/"+a.id, a.sign(t, a.claims()), "", http.Header{"Content-Type": {"text/plain"}})
}

func TestDRPCallsAreLimitedPerAgent(t *testing.T) {
	alice, bob := newDRPAgent(t, "CR_AA_TEST_ALICE", "Alice's Agent"), newDRPAgent(t, "CR_AA_TEST_BOB", "Bob's Agent")
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.DRPPerAgent = api.Rate{Events: 2, Per: time.Hour}
	}), withDRPAgents(t, alice, bob))
	for _, a := range []*drpAgent{alice, bob} {
		got := drpSetUp(t, h, a, "198.51.100.1:4000")
		var tok drp.TokenAnswer
		if got.code != http.StatusOK || json.Unmarshal([]byte(got.body), &tok) != nil {
			t.Fatalf("setup of %s = %d %s", a.id, got.code, got.body)
		}
		a.token = tok.Token
	}
	for i := range 2 {
		if got := h.sendFrom("198.51.100.1:4000", http.MethodGet, "/v1/agent/"+alice.id, "", alice.token, nil); got.code != http.StatusOK {
			t.Fatalf("call %d within the limit = %d %s", i, got.code, got.body)
		}
	}
	// From another address too: the agent is counted, not the client.
	wantDRPRateLimited(t, "alice's third call", h.sendFrom("203.0.113.9:4000", http.MethodGet, "/v1/data-rights-request/x", "", alice.token, nil), "1800")
	if got := h.sendFrom("198.51.100.1:4000", http.MethodGet, "/v1/agent/"+bob.id, "", bob.token, nil); got.code != http.StatusOK {
		t.Errorf("another agent's call = %d %s, want 200", got.code, got.body)
	}
	h.now = h.now.Add(30 * time.Minute)
	if got := h.sendFrom("198.51.100.1:4000", http.MethodGet, "/v1/agent/"+alice.id, "", alice.token, nil); got.code != http.StatusOK {
		t.Errorf("a call once a token refilled = %d %s, want 200", got.code, got.body)
	}
}

func TestDRPKeySetupIsLimitedPerClientIP(t *testing.T) {
	alice, bob := newDRPAgent(t, "CR_AA_TEST_ALICE", "Alice's Agent"), newDRPAgent(t, "CR_AA_TEST_BOB", "Bob's Agent")
	h := newHarness(t, false, limited(func(l *api.RateLimits) {
		l.DRPSetUpPerIP = api.Rate{Events: 1, Per: time.Hour}
	}), withDRPAgents(t, alice, bob))
	if got := drpSetUp(t, h, alice, "198.51.100.1:4000"); got.code != http.StatusOK {
		t.Fatalf("first setup = %d %s", got.code, got.body)
	}
	// Checked before the signature: a flood of setups costs no verification.
	wantDRPRateLimited(t, "a second setup from one IP", drpSetUp(t, h, bob, "198.51.100.1:4000"), "3600")
	if got := drpSetUp(t, h, bob, "203.0.113.9:4000"); got.code != http.StatusOK {
		t.Errorf("a setup from another IP = %d %s, want 200", got.code, got.body)
	}
}
