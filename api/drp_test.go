package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/drp"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requests"
)

// The business and the public address the DRP tests give dsr. Links in answers use the
// public address; the tests follow them to the test server.
const (
	drpBusinessID = "DSR_TEST_BUSINESS"
	drpPublicURL  = "https://privacy.example.com"
)

// withDRP turns the protocol on in a harness, with no agent in its directory.
func withDRP(o *api.Options) {
	dir, err := drp.ParseDirectory("agents.json", []byte("[]"))
	if err != nil {
		panic(err)
	}
	o.DRP = &drp.Options{Directory: dir, BusinessID: drpBusinessID}
}

// drpAgent plays an authorized agent: its own Ed25519 key, the directory entry that names
// it, the bearer token dsr gave it, and a status callback server that records what it is
// sent.
type drpAgent struct {
	id    string
	name  string
	key   ed25519.PrivateKey
	token string

	mu        sync.Mutex
	callbacks []drpCallback
	// failNext answers that many callbacks with 503 before taking any.
	failNext int
	failed   int
	server   *httptest.Server
}

type drpCallback struct {
	key    string
	status drp.ExerciseStatus
}

func newDRPAgent(t *testing.T, id, name string) *drpAgent {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &drpAgent{id: id, name: name, key: key}
	a.server = httptest.NewServer(http.HandlerFunc(a.receive))
	t.Cleanup(a.server.Close)
	return a
}

// receive is the agent's status callback endpoint (section 2.03). Every body must follow
// the Exercise Status schema.
func (a *drpAgent) receive(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failNext > 0 {
		a.failNext--
		a.failed++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var st drp.ExerciseStatus
	if r.Header.Get("Content-Type") != "application/json" || drp.ValidateDocument(drp.SchemaExerciseStatus, raw) != nil || json.Unmarshal(raw, &st) != nil {
		http.Error(w, "not an exercise status", http.StatusBadRequest)
		st = drp.ExerciseStatus{Status: "INVALID: " + drp.State(raw)}
	}
	a.callbacks = append(a.callbacks, drpCallback{key: r.Header.Get(drp.IdempotencyHeader), status: st})
}

func (a *drpAgent) entry() string {
	pub := a.key.Public().(ed25519.PublicKey)
	return fmt.Sprintf(`{"id": %q, "name": %q, "verify_key": %q, "web_url": "https://agent.example.org", "technical_contact": "tech@agent.example"}`,
		a.id, a.name, base64.StdEncoding.EncodeToString(pub))
}

// claims are the envelope of section 2.01 from this agent to dsr, valid for ten minutes.
func (a *drpAgent) claims() map[string]any {
	now := time.Now().UTC()
	return map[string]any{
		"agent-id": a.id, "business-id": drpBusinessID, "drp.version": "1.0",
		"issued-at":  now.Add(-time.Second).Format("2006-01-02T15:04:05.000+00:00"),
		"expires-at": now.Add(10 * time.Minute).Format("2006-01-02T15:04:05.000+00:00"),
	}
}

func (a *drpAgent) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return drp.SignMessage(a.key, payload)
}

// callbacksSeen returns the callbacks the agent has taken so far.
func (a *drpAgent) callbacksSeen() []drpCallback {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]drpCallback(nil), a.callbacks...)
}

// drpStack is the real stack with the protocol on, two agents in its directory and the
// callback sender running as a worker runs it.
type drpStack struct {
	*stack
	alice, bob *drpAgent
	client     *http.Client
}

func startDRPStack(t *testing.T) *drpStack {
	t.Helper()
	alice, bob := newDRPAgent(t, "CR_AA_TEST_ALICE", "Alice's Agent"), newDRPAgent(t, "CR_AA_TEST_BOB", "Bob's Agent")
	dir, err := drp.ParseDirectory("agents.json", []byte("["+alice.entry()+","+bob.entry()+"]"))
	if err != nil {
		t.Fatal(err)
	}
	l := links.Builder{Base: drpPublicURL, Secret: testSecret}
	s := startStack(t, func(o *api.Options, _ *activities.Activities) {
		o.DRP = &drp.Options{
			Directory: dir, BusinessID: drpBusinessID, Links: l,
			Business: drp.Business{ID: drpBusinessID, Name: "Example Company", APIBase: drpPublicURL,
				SupportedActions: drp.SupportedActions(), SupportedVerifications: []string{"email"}},
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	sender := &drp.Sender{Store: s.requests, Links: l, Interval: 50 * time.Millisecond, RetryBase: 50 * time.Millisecond, Log: quiet}
	feeder := &drp.IdentityFeeder{Store: s.requests, Interval: 50 * time.Millisecond, Log: quiet,
		Requests: requests.New(requests.Options{Store: s.requests, Engine: requests.NewTemporalEngine(s.temporal, "dsr-api-test"), Secret: testSecret, Links: l})}
	done := make(chan struct{}, 2)
	go func() { sender.Run(ctx); done <- struct{}{} }()
	go func() { feeder.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	// No redirects followed: a protocol endpoint must answer where it is asked.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &drpStack{stack: s, alice: alice, bob: bob, client: client}
}

// call sends a protocol request as an agent sends it: a text/plain signed body.
func (d *drpStack) call(method, path, body, token string) answer {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(raw)}
}

// want checks an answer's status and that its body follows the schema, and decodes it.
func (d *drpStack) want(a answer, code int, schema string, out any) {
	d.t.Helper()
	if a.code != code {
		d.t.Fatalf("answer %d %s, want %d", a.code, a.body, code)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		d.t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if err := drp.ValidateDocument(schema, []byte(a.body)); err != nil {
		d.t.Fatalf("answer %s does not follow %s: %v", a.body, schema, err)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(a.body), out); err != nil {
			d.t.Fatal(err)
		}
	}
}

// wantError checks a refusal in the error shape of section 3.06.
func (d *drpStack) wantError(a answer, code int, fatal bool) drp.ErrorBody {
	d.t.Helper()
	var body drp.ErrorBody
	d.want(a, code, drp.SchemaError, &body)
	if body.Code != fmt.Sprint(code) || body.Fatal != fatal {
		d.t.Fatalf("error %+v, want code %d, fatal %v", body, code, fatal)
	}
	return body
}

// setUp runs the pair-wise key setup (section 2.05) and keeps the agent's token.
func (d *drpStack) setUp(a *drpAgent) {
	d.t.Helper()
	var out drp.TokenAnswer
	d.want(d.call(http.MethodPost, "/v1/agent/"+a.id, a.sign(d.t, a.claims()), ""), http.StatusOK, drp.SchemaAgentToken, &out)
	if out.AgentID != a.id || out.Token == "" {
		d.t.Fatalf("setup answer %+v", out)
	}
	a.token = out.Token
}

// exercise sends a Data Rights Exercise request (section 2.01) for address.
func (d *drpStack) exercise(a *drpAgent, action, address string, extra map[string]any) drp.ExerciseStatus {
	d.t.Helper()
	claims := a.claims()
	claims["exercise"], claims["regime"], claims["email"], claims["email_verified"] = action, "ccpa", address, true
	claims["status_callback"] = a.server.URL + "/drp/callback"
	for k, v := range extra {
		claims[k] = v
	}
	var st drp.ExerciseStatus
	d.want(d.call(http.MethodPost, "/v1/data-rights-request", a.sign(d.t, claims), a.token), http.StatusOK, drp.SchemaExerciseStatus, &st)
	return st
}

func (d *drpStack) status(a *drpAgent, id string) drp.ExerciseStatus {
	d.t.Helper()
	var st drp.ExerciseStatus
	d.want(d.call(http.MethodGet, "/v1/data-rights-request/"+id, "", a.token), http.StatusOK, drp.SchemaExerciseStatus, &st)
	return st
}

// awaitCallback waits until the agent has been told the request reached state and reason.
func (d *drpStack) awaitCallback(a *drpAgent, id string, state drp.State, reason drp.Reason) drpCallback {
	d.t.Helper()
	var found drpCallback
	d.eventually(fmt.Sprintf("a %s/%s callback for %s", state, reason, id), func() (bool, string) {
		seen := a.callbacksSeen()
		for _, c := range seen {
			if strings.HasPrefix(string(c.status.Status), "INVALID") {
				d.t.Fatalf("the agent was sent an invalid status: %s", c.status.Status)
			}
			if c.status.RequestID == id && c.status.Status == state && c.status.Reason == reason {
				found = c
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", seen)
	})
	return found
}

// verifyAsThePerson follows the user_verification_url in a browser-like client and types
// the mailed code into dsr's own page, as the person does (section 3.02.1).
func (d *drpStack) verifyAsThePerson(st drp.ExerciseStatus, address string) {
	d.t.Helper()
	if !strings.HasPrefix(st.UserVerificationURL, drpPublicURL+"/requests/"+st.RequestID+"/verify?") {
		d.t.Fatalf("user_verification_url %q is not dsr's verification page of the request", st.UserVerificationURL)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		d.t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	// A link whose request_id names another request opens nothing (3.02.1).
	wrong := strings.Replace(st.UserVerificationURL, drpPublicURL, d.base, 1) + "&request_id=00000000-0000-4000-8000-000000000000"
	resp, err := browser.Get(wrong)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		d.t.Fatalf("a verification link naming another request answered %d, want 401", resp.StatusCode)
	}
	// The agent adds redirect_to and request_id (3.02.1).
	page := strings.Replace(st.UserVerificationURL, drpPublicURL, d.base, 1) + "&redirect_to=" + url.QueryEscape("https://agent.example.org/done") + "&request_id=" + st.RequestID
	resp, err = browser.Get(page)
	if err != nil {
		d.t.Fatal(err)
	}
	html, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/requests/"+st.RequestID+"/verify" {
		d.t.Fatalf("the verification page answered %d at %s: %v", resp.StatusCode, resp.Request.URL, err)
	}
	formToken := formTokenInPage.FindStringSubmatch(string(html))
	if formToken == nil {
		d.t.Fatalf("no form token on the verification page")
	}
	code := d.code(address)
	d.eventually("the workflow to hold the code", func() (bool, string) {
		row, err := d.requests.GetRequest(context.Background(), st.RequestID)
		return err == nil && row.CodeAttemptsLeft > 0, fmt.Sprint(err)
	})
	resp, err = browser.PostForm(d.base+"/requests/"+st.RequestID+"/verify", url.Values{"code": {code}, "form_token": {formToken[1]}})
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/requests/"+st.RequestID {
		d.t.Fatalf("submitting the code answered %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

var formTokenInPage = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

func TestDRPAgentPlaysEveryEndpointAgainstTheRealStack(t *testing.T) {
	d := startDRPStack(t)
	alice, bob := d.alice, d.bob

	t.Run("the business discovery document follows section 3.05.2", func(t *testing.T) {
		var doc drp.Business
		d.want(d.call(http.MethodGet, api.DRPBusinessPath, "", ""), http.StatusOK, drp.SchemaBusiness, &doc)
		if doc.ID != drpBusinessID || doc.APIBase != drpPublicURL {
			t.Fatalf("business document %+v", doc)
		}
	})

	t.Run("key setup refuses what section 3.07 refuses, with 403 and no body", func(t *testing.T) {
		good := alice.claims()
		tampered := []byte(alice.sign(t, good))
		raw, _ := base64.StdEncoding.DecodeString(string(tampered))
		raw[len(raw)-3] ^= 1 // one bit of the JSON
		otherBusiness := alice.claims()
		otherBusiness["business-id"] = "SOMEONE_ELSE"
		expired := alice.claims()
		expired["issued-at"], expired["expires-at"] = "2020-01-01T00:00:00Z", "2020-01-01T00:10:00Z"
		future := alice.claims()
		future["issued-at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		oldVersion := alice.claims()
		oldVersion["drp.version"] = "0.9.4"
		for name, c := range map[string]struct{ path, body string }{
			"unknown agent":             {"/v1/agent/NOT_LISTED", alice.sign(t, good)},
			"signed by another's key":   {"/v1/agent/" + alice.id, bob.sign(t, good)},
			"tampered":                  {"/v1/agent/" + alice.id, base64.StdEncoding.EncodeToString(raw)},
			"path names another agent":  {"/v1/agent/" + bob.id, alice.sign(t, good)},
			"another business":          {"/v1/agent/" + alice.id, alice.sign(t, otherBusiness)},
			"expired":                   {"/v1/agent/" + alice.id, alice.sign(t, expired)},
			"issued in the future":      {"/v1/agent/" + alice.id, alice.sign(t, future)},
			"another protocol version":  {"/v1/agent/" + alice.id, alice.sign(t, oldVersion)},
			"not base64":                {"/v1/agent/" + alice.id, "{not signed}"},
			"too short for a signature": {"/v1/agent/" + alice.id, base64.StdEncoding.EncodeToString([]byte("{}"))},
		} {
			a := d.call(http.MethodPost, c.path, c.body, "")
			if a.code != http.StatusForbidden || a.body != "" {
				t.Errorf("%s: %d %q, want 403 with no body", name, a.code, a.body)
			}
		}
	})

	t.Run("key setup gives each agent a token, and a replayed setup is refused", func(t *testing.T) {
		body := alice.sign(t, alice.claims())
		var out drp.TokenAnswer
		d.want(d.call(http.MethodPost, "/v1/agent/"+alice.id, body, ""), http.StatusOK, drp.SchemaAgentToken, &out)
		alice.token = out.Token
		if a := d.call(http.MethodPost, "/v1/agent/"+alice.id, body, ""); a.code != http.StatusForbidden {
			t.Fatalf("replayed setup = %d %s, want 403", a.code, a.body)
		}
		d.setUp(bob)
	})

	t.Run("agent information checks the token against the path (2.06)", func(t *testing.T) {
		d.want(d.call(http.MethodGet, "/v1/agent/"+alice.id, "", alice.token), http.StatusOK, drp.SchemaAgentInformation, nil)
		d.wantError(d.call(http.MethodGet, "/v1/agent/"+bob.id, "", alice.token), http.StatusForbidden, false)
		d.wantError(d.call(http.MethodGet, "/v1/agent/"+alice.id, "", ""), http.StatusUnauthorized, false)
		d.wantError(d.call(http.MethodGet, "/v1/agent/"+alice.id, "", "not-a-token"), http.StatusUnauthorized, false)
	})

	t.Run("exercise refuses bad messages in the error shape of 3.06", func(t *testing.T) {
		base := func() map[string]any {
			c := alice.claims()
			c["exercise"], c["email"] = drp.ActionAccess, "someone@example.com"
			return c
		}
		signed := alice.sign(t, base())
		raw, _ := base64.StdEncoding.DecodeString(signed)
		raw[len(raw)-5] ^= 1
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", base64.StdEncoding.EncodeToString(raw), alice.token), http.StatusForbidden, false)
		// Signed by bob's key but sent with alice's token: the key of the token's agent decides.
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", bob.sign(t, base()), alice.token), http.StatusForbidden, false)
		asBob := base()
		asBob["agent-id"] = bob.id
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, asBob), alice.token), http.StatusForbidden, false)
		other := base()
		other["business-id"] = "SOMEONE_ELSE"
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, other), alice.token), http.StatusForbidden, false)
		future := base()
		future["issued-at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, future), alice.token), http.StatusBadRequest, false)
		expired := base()
		expired["expires-at"] = time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, expired), alice.token), http.StatusBadRequest, true)
		optIn := base()
		optIn["exercise"] = drp.ActionSaleOptIn
		if body := d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, optIn), alice.token), http.StatusBadRequest, false); body.Message != "Unsupported rights actions submitted." {
			t.Errorf("sale:opt-in refused with %q", body.Message)
		}
		gdpr := base()
		gdpr["regime"] = "gdpr"
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, gdpr), alice.token), http.StatusBadRequest, false)
		noEmail := base()
		delete(noEmail, "email")
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, noEmail), alice.token), http.StatusBadRequest, false)
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, base()), ""), http.StatusUnauthorized, false)
		// Failures before the protocol's handlers answer in its shape too.
		d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", strings.Repeat("A", api.MaxBodyBytes+1), alice.token), http.StatusRequestEntityTooLarge, false)
		d.wantError(d.call(http.MethodPut, "/v1/data-rights-request/x", "", alice.token), http.StatusMethodNotAllowed, false)
	})

	t.Run("an opt-out of sale runs to fulfilled, and the agent is told each step", func(t *testing.T) {
		claims := alice.claims()
		claims["exercise"], claims["regime"], claims["email"], claims["email_verified"] = drp.ActionSaleOptOut, "ccpa", "alice@example.com", true
		claims["agent-request-id"], claims["status_callback"] = "alice-42", alice.server.URL+"/cb"
		claims["name"], claims["address"] = "Alice Example", map[string]any{"postal_code": "94105", "country": "US"}
		body := alice.sign(t, claims)
		// The pre-0.9.3 path with its trailing slash answers too, without a redirect.
		var st drp.ExerciseStatus
		d.want(d.call(http.MethodPost, "/v1/data-rights-request/", body, alice.token), http.StatusOK, drp.SchemaExerciseStatus, &st)
		if st.AgentRequestID != "alice-42" || st.ReceivedAt == "" {
			t.Fatalf("exercise answer %+v", st)
		}
		replay := d.wantError(d.call(http.MethodPost, "/v1/data-rights-request", body, alice.token), http.StatusConflict, true)
		if !strings.Contains(replay.Message, "already received") {
			t.Errorf("replay refused with %q", replay.Message)
		}
		// dsr proves the mailbox itself: the agent learns the person must act.
		cb := d.awaitCallback(alice, st.RequestID, drp.StateInProgress, drp.ReasonNeedUserVerification)
		if cb.key == "" {
			t.Error("the callback carries no idempotency key")
		}
		now := d.status(alice, st.RequestID)
		if now.Status != drp.StateInProgress || now.ExpectedBy == "" || now.UserVerificationURL == "" {
			t.Fatalf("status %+v", now)
		}
		d.verifyAsThePerson(now, "alice@example.com")
		d.awaitCallback(alice, st.RequestID, drp.StateFulfilled, "")
		if got := d.status(alice, st.RequestID); got.Status != drp.StateFulfilled || got.ExpectedBy != "" {
			t.Fatalf("final status %+v", got)
		}
		row, err := d.requests.GetRequest(context.Background(), st.RequestID)
		if err != nil || row.Type != "restrict" || !strings.Contains(row.Details, "affiliate_sharing") || row.Jurisdiction != "ccpa" {
			t.Fatalf("the dsr request is %+v, %v", row, err)
		}
		// The row names the agent, as staff pages and metrics show it; no permission file
		// waits for staff, since the agent's signature stands for it.
		if row.AgentName != "Alice's Agent" || row.AgentKind != "drp" || row.AgentContact != "tech@agent.example" || row.AgentPermission != "" {
			t.Errorf("the request's agent is %+v", row.Agent)
		}
	})

	t.Run("another agent cannot read or revoke the request (2.02.1)", func(t *testing.T) {
		st := d.exercise(alice, drp.ActionAccess, "carol@example.com", nil)
		d.wantError(d.call(http.MethodGet, "/v1/data-rights-request/"+st.RequestID, "", bob.token), http.StatusForbidden, false)
		d.wantError(d.call(http.MethodDelete, "/v1/data-rights-request/"+st.RequestID, bob.sign(t, map[string]any{"reason": "x"}), bob.token), http.StatusForbidden, false)
		d.wantError(d.call(http.MethodGet, "/v1/data-rights-request/00000000-0000-4000-8000-000000000000", "", alice.token), http.StatusNotFound, false)
	})

	t.Run("a deletion is revoked by a signed reason alone, and the agent is told", func(t *testing.T) {
		st := d.exercise(alice, drp.ActionDeletion, "dave@example.com", nil)
		d.awaitCallback(alice, st.RequestID, drp.StateInProgress, drp.ReasonNeedUserVerification)
		row, err := d.requests.GetRequest(context.Background(), st.RequestID)
		if err != nil || row.Type != "suppress" || !strings.Contains(row.Details, `"all":true`) {
			t.Fatalf("the dsr request is %+v, %v", row, err)
		}
		// Signed by the wrong key: refused before anything changes.
		d.wantError(d.call(http.MethodDelete, "/v1/data-rights-request/"+st.RequestID, bob.sign(t, map[string]any{"reason": "no"}), alice.token), http.StatusForbidden, false)
		revoke := alice.sign(t, map[string]any{"reason": "I don't want my account deleted"})
		var out drp.ExerciseStatus
		d.want(d.call(http.MethodDelete, "/v1/data-rights-request/"+st.RequestID, revoke, alice.token), http.StatusOK, drp.SchemaExerciseStatus, &out)
		if out.Status != drp.StateRevoked {
			t.Fatalf("revoke answered %+v, want revoked", out)
		}
		d.wantError(d.call(http.MethodDelete, "/v1/data-rights-request/"+st.RequestID, revoke, alice.token), http.StatusConflict, true)
		d.awaitCallback(alice, st.RequestID, drp.StateRevoked, "")
		d.eventually("the request to read as revoked", func() (bool, string) {
			got := d.status(alice, st.RequestID)
			return got.Status == drp.StateRevoked, string(got.Status)
		})
		// A closed request can no longer be revoked.
		again := alice.sign(t, map[string]any{"reason": "again"})
		d.wantError(d.call(http.MethodDelete, "/v1/data-rights-request/"+st.RequestID, again, alice.token), http.StatusConflict, false)
	})

	t.Run("an extension and a staff denial with a protocol reason reach the agent", func(t *testing.T) {
		staff := d.token("Pat Analyst", auth.RoleAnalyst)
		st := d.exercise(alice, drp.ActionAccessCategories, "erin@example.com", nil)
		d.awaitCallback(alice, st.RequestID, drp.StateInProgress, drp.ReasonNeedUserVerification)
		d.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+st.RequestID+"/extend", `{"reason":"many systems to search"}`, staff, nil)
		d.eventually("an extension callback", func() (bool, string) {
			for _, c := range alice.callbacksSeen() {
				if c.status.RequestID == st.RequestID && c.status.ProcessingDetails == "many systems to search" && c.status.ExpectedBy > st.ExpectedBy {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%+v", alice.callbacksSeen())
		})
		d.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+st.RequestID+"/deny", `{"reason":"outside_jurisdiction: we serve California residents only"}`, staff, nil)
		cb := d.awaitCallback(alice, st.RequestID, drp.StateDenied, drp.ReasonOutsideJurisdiction)
		if cb.status.ProcessingDetails != "we serve California residents only" {
			t.Errorf("processing details %q", cb.status.ProcessingDetails)
		}
	})

	t.Run("a callback the agent fails is retried until taken", func(t *testing.T) {
		bob.mu.Lock()
		bob.failNext = 2
		bob.mu.Unlock()
		st := d.exercise(bob, drp.ActionAccessSpecific, "frank@example.com", nil)
		d.awaitCallback(bob, st.RequestID, drp.StateInProgress, drp.ReasonNeedUserVerification)
		bob.mu.Lock()
		failed := bob.failed
		bob.mu.Unlock()
		if failed != 2 {
			t.Fatalf("the agent failed %d callbacks, want 2", failed)
		}
		d.eventually("every owed callback marked sent", func() (bool, string) {
			owed, err := d.requests.DRPCallbacksOf(context.Background(), st.RequestID)
			if err != nil {
				return false, err.Error()
			}
			for _, c := range owed {
				if c.SentAt == nil {
					return false, fmt.Sprintf("%+v", owed)
				}
			}
			return len(owed) > 0, "none owed"
		})
	})

	t.Run("the claims' data points go to the identity check once the mailbox is proven", func(t *testing.T) {
		st := d.exercise(alice, drp.ActionDeletion, "grace@example.com", map[string]any{
			"address": map[string]any{"postal_code": "94105", "country": "US"}, "phone_number": "+1 415 555 0142",
		})
		first := d.awaitCallback(alice, st.RequestID, drp.StateInProgress, drp.ReasonNeedUserVerification)
		d.verifyAsThePerson(first.status, "grace@example.com")
		d.eventually("the claims checked as the person's answers", func() (bool, string) {
			events, err := d.requests.AuditEvents(context.Background(), st.RequestID)
			if err != nil {
				return false, err.Error()
			}
			for _, e := range events {
				if e.Action == "identity_checked" && e.Role == "requester" {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d events", len(events))
		})
		link, err := d.requests.GetDRPRequest(context.Background(), st.RequestID)
		if err != nil || link.IdentityClaims != "" || link.IdentityFedAt == nil {
			t.Fatalf("after the check the claims are %q (fed %v), %v; want them erased", link.IdentityClaims, link.IdentityFedAt, err)
		}
		// This stack holds no data, so nothing matched: the person is asked on the status page.
		now := d.status(alice, st.RequestID)
		if now.Reason != drp.ReasonNeedUserVerification || !strings.HasPrefix(now.UserVerificationURL, drpPublicURL+"/requests/"+st.RequestID+"?") {
			t.Fatalf("status after unmatched claims %+v, want the person sent to the status page", now)
		}
	})

	t.Run("a request with no status callback is only read", func(t *testing.T) {
		claims := alice.claims()
		claims["exercise"], claims["email"] = drp.ActionAccess, "bob@example.com"
		var st drp.ExerciseStatus
		d.want(d.call(http.MethodPost, "/v1/data-rights-request", alice.sign(t, claims), alice.token), http.StatusOK, drp.SchemaExerciseStatus, &st)
		owed, err := d.requests.DRPCallbacksOf(context.Background(), st.RequestID)
		if err != nil || len(owed) != 0 {
			t.Fatalf("callbacks owed %+v, %v; want none", owed, err)
		}
		row, err := d.requests.GetRequest(context.Background(), st.RequestID)
		if err != nil || row.Jurisdiction != "default" {
			t.Fatalf("a request without a regime is %+v, %v; want the default jurisdiction", row, err)
		}
	})
}
