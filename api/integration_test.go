package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/devengine"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

// stack is the API in front of a real Temporal server, a worker and PostgreSQL.
type stack struct {
	t        *testing.T
	base     string
	tokens   *auth.Repo
	requests *requestdb.Repo
	temporal client.Client
	// transparencyLog is the public log the requests' milestones are appended to.
	transparencyLog *tlog.Log
	// stopEngine stops the Temporal server under the running API.
	stopEngine func()
}

// startStack starts the stack; configure, when given, changes the server's options and
// the worker's activities before either starts.
func startStack(t *testing.T, configure ...func(*api.Options, *activities.Activities)) *stack {
	t.Helper()
	ctx := context.Background()
	eng, err := devengine.Start(devengine.Options{Log: quiet, LogLevel: slog.LevelError})
	if err != nil {
		t.Fatal(err)
	}
	var stopOnce sync.Once
	stopEngine := func() { stopOnce.Do(eng.Stop) }
	t.Cleanup(stopEngine)
	c, err := client.Dial(client.Options{HostPort: eng.Address, Namespace: "default", Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := engine.EnsureSearchAttributes(ctx, c, "default", workflows.SearchAttributes); err != nil {
		t.Fatal(err)
	}

	db := testenv.OpenMigrated(t, testenv.PostgresURL(t))
	transparencyLog, err := tlog.New(db, testSecret, "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	// Store results are sealed, and milestones logged, as the worker and the API do.
	requests, mailbox := requestdb.New(db).WithResultKeys(newCodecRing(t)).WithLog(transparencyLog), requestdb.NewDevMailbox(db)
	const taskQueue = "dsr-api-test"
	s := &stack{t: t, tokens: auth.New(db), requests: requests, temporal: c, stopEngine: stopEngine, transparencyLog: transparencyLog}
	acts := &activities.Activities{Requests: requests, Mail: mailbox, Secret: testSecret, Links: links.Builder{Base: "http://x", Secret: testSecret}}
	opts := api.Options{
		Log: quiet, Temporal: c, TaskQueue: taskQueue, Requests: requests, Tokens: s.tokens,
		Secret: testSecret, DevMailbox: mailbox, Identity: domain.DefaultIdentityPolicy(),
		Verification: workflows.DefaultVerificationSettings(), RateLimits: unlimited, Sessions: auth.NewSessions(db),
		TransparencyLog: transparencyLog,
	}
	for _, f := range configure {
		f(&opts, acts)
	}
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.Request)
	w.RegisterWorkflow(workflows.RetentionPurge) // a suppression that keeps a record starts one
	w.RegisterWorkflow(workflows.Appeal)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	srv := httptest.NewServer(api.New(opts).Handler())
	t.Cleanup(srv.Close)
	s.base = srv.URL
	return s
}

func (s *stack) do(method, path, body, bearer string) answer {
	s.t.Helper()
	return s.send(method, path, body, bearer, nil)
}

// send is do with more headers.
func (s *stack) send(method, path, body, bearer string, headers http.Header) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for name, values := range headers {
		req.Header[name] = values
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	a := answer{code: resp.StatusCode, header: resp.Header, body: string(raw)}
	checkAgainstOpenAPI(s.t, req, a)
	return a
}

// must sends a request that has to answer want, and decodes the answer into out.
func (s *stack) must(want int, method, path, body, bearer string, out any) {
	s.t.Helper()
	a := s.do(method, path, body, bearer)
	if a.code != want {
		s.t.Fatalf("%s %s = %d %s, want %d", method, path, a.code, a.body, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(a.body), out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, a.body)
		}
	}
}

func (s *stack) open(body string) api.IntakeAnswer {
	s.t.Helper()
	var out api.IntakeAnswer
	s.must(http.StatusAccepted, http.MethodPost, "/api/v1/requests", body, "", &out)
	return out
}

// eventually retries check until it holds, failing with its last complaint after a minute.
func (s *stack) eventually(what string, check func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = check(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%s never happened; last: %s", what, last)
}

var codeInMail = regexp.MustCompile(`\b[0-9]{6}\b`)

// code reads the verification code from the dev mailbox.
func (s *stack) code(to string) string {
	s.t.Helper()
	var code string
	s.eventually("a verification code mail to "+to, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		for _, m := range msgs {
			// A request an agent made asks the person whether they asked the agent.
			if strings.Contains(m.Subject, "verification code") || strings.Contains(m.Subject, "privacy request for you") {
				code = codeInMail.FindString(m.Text)
				return code != "", m.Text
			}
		}
		return false, "no code mail yet"
	})
	return code
}

// verify proves the mailbox with the mailed code. The mail goes out before the workflow
// holds the code's hash, and a code checked in between reads as locked, so it first waits
// for the workflow to count attempts.
func (s *stack) verify(req api.IntakeAnswer, to string) {
	s.t.Helper()
	code := s.code(to)
	s.eventually("the workflow to hold the code", func() (bool, string) {
		var view api.RequesterView
		s.must(http.StatusOK, http.MethodGet, "/api/v1/requests/"+req.ID, "", req.StatusToken, &view)
		return view.CodeAttemptsLeft > 0, string(view.Status)
	})
	var out api.VerifyAnswer
	s.must(http.StatusOK, http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", `{"code":"`+code+`"}`, req.StatusToken, &out)
	if out.Result != domain.CheckConfirmed {
		s.t.Fatalf("verify = %+v, want confirmed", out)
	}
}

// awaitRequesterStatus polls the requester's view until the request reaches status.
func (s *stack) awaitRequesterStatus(req api.IntakeAnswer, status domain.Status) (api.RequesterView, string) {
	s.t.Helper()
	var view api.RequesterView
	var raw string
	s.eventually("request "+req.ID+" reaching "+string(status), func() (bool, string) {
		a := s.do(http.MethodGet, "/api/v1/requests/"+req.ID, "", req.StatusToken)
		raw = a.body
		if a.code != http.StatusOK {
			return false, a.body
		}
		view = api.RequesterView{}
		if err := json.Unmarshal([]byte(a.body), &view); err != nil {
			s.t.Fatal(err)
		}
		return view.Status == status, a.body
	})
	return view, raw
}

// awaitStaffStatus polls the staff view until both the workflow and the row, which follows
// it one recorded step later, reach status.
func (s *stack) awaitStaffStatus(id string, token string, status domain.Status) api.StaffView {
	s.t.Helper()
	var view api.StaffView
	s.eventually("request "+id+" reaching "+string(status)+" for staff", func() (bool, string) {
		view = api.StaffView{}
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+id, "", token, &view)
		done := view.State != nil && view.State.Status == status && view.Request.Status == status
		return done, fmt.Sprintf("row %s, %v %s", view.Request.Status, view.State != nil, view.StateError)
	})
	return view
}

func (s *stack) token(name string, role auth.Role) string {
	s.t.Helper()
	secret, _, err := s.tokens.Create(context.Background(), name, role)
	if err != nil {
		s.t.Fatal(err)
	}
	return secret
}

func TestRequestsRunThroughTheRealEngine(t *testing.T) {
	s := startStack(t)

	t.Run("a restriction completes once the mailbox is proven", func(t *testing.T) {
		s.t = t
		req := s.open(`{"type":"restrict","email":"Rita@Example.com","details":{"limits":["marketing_email"]}}`)
		code := s.code("rita@example.com")

		a := s.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", `{"code":"12"}`, req.StatusToken)
		if a.code != http.StatusConflict || a.errorBody(t).Message != "the code is 6 to 8 digits" {
			t.Errorf("malformed code = %d %s, want 409 with the validator's message", a.code, a.body)
		}
		if a := s.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", `{"code":"`+code+`"}`, "wrong"); a.code != http.StatusUnauthorized {
			t.Errorf("verify with a wrong status token = %d, want 401", a.code)
		}
		s.verify(req, "rita@example.com")

		view, raw := s.awaitRequesterStatus(req, domain.StatusCompleted)
		if !view.EmailVerified || !view.IdentityVerified || view.IdentityRequirement != "mailbox" || view.Stores.Total != 0 {
			t.Errorf("completed view = %+v", view)
		}
		actions := make([]string, len(view.Steps))
		for i, st := range view.Steps {
			actions[i] = st.Action
		}
		if !slices.Contains(actions, "email_verified") || actions[len(actions)-1] != "completed" {
			t.Errorf("steps = %v, want email_verified and completed last", actions)
		}
		if strings.Contains(raw, "rita") || strings.Contains(raw, "Actor") {
			t.Errorf("requester view shows the address or actors: %s", raw)
		}
		if a := s.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/resend-code", "", req.StatusToken); a.code != http.StatusConflict {
			t.Errorf("resend after completion = %d %s, want 409", a.code, a.body)
		}
	})

	t.Run("a correction waits for an analyst's approval", func(t *testing.T) {
		s.t = t
		analyst := s.token("carol", auth.RoleAnalyst)
		auditor := s.token("ann", auth.RoleAuditor)
		req := s.open(`{"type":"correct","email":"bob@example.com","jurisdiction":"gdpr","details":{"changes":[{"field":"name","value":"Bob Brown"}]}}`)
		s.verify(req, "bob@example.com")
		s.awaitRequesterStatus(req, domain.StatusPendingReview)

		approve := "/api/v1/admin/requests/" + req.ID + "/approve"
		if a := s.do(http.MethodPost, approve, "", "wrong-token"); a.code != http.StatusUnauthorized {
			t.Errorf("approve with a wrong token = %d %s, want 401", a.code, a.body)
		}
		if a := s.do(http.MethodPost, approve, "", auditor); a.code != http.StatusForbidden {
			t.Errorf("approve as auditor = %d %s, want 403", a.code, a.body)
		}

		full := s.awaitStaffStatus(req.ID, analyst, domain.StatusPendingReview)
		if full.Request.Email != "bob@example.com" || len(full.Audit) == 0 || full.Audit[0].Action != "received" {
			t.Errorf("staff view = %+v", full)
		}
		var st workflows.RequestState
		s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/notes", `{"text":"called the requester to confirm"}`, analyst, &st)
		if len(st.Notes) != 1 || st.Notes[0].Author != "carol" {
			t.Errorf("notes after adding one = %+v", st.Notes)
		}
		s.must(http.StatusOK, http.MethodPost, approve, `{"reason":"matches our records"}`, analyst, &st)
		if !st.Approved || st.ApprovedBy != "carol" {
			t.Errorf("state after approval = %+v", st)
		}

		_, raw := s.awaitRequesterStatus(req, domain.StatusCompleted)
		for _, hidden := range []string{"called the requester", "carol", "note_added"} {
			if strings.Contains(raw, hidden) {
				t.Errorf("requester view shows %q: %s", hidden, raw)
			}
		}
		if a := s.do(http.MethodPost, approve, "", analyst); a.code != http.StatusConflict {
			t.Errorf("approve after completion = %d %s, want 409", a.code, a.body)
		}
	})

	t.Run("a staff-opened erasure needs a second staff member", func(t *testing.T) {
		s.t = t
		opener, second := s.token("dana", auth.RoleAdmin), s.token("eve", auth.RoleAnalyst)
		var req api.IntakeAnswer
		s.must(http.StatusAccepted, http.MethodPost, "/api/v1/admin/requests",
			`{"type":"child_erasure","email":"kid@example.com","details":{"reason":"a parent asked with proof of guardianship"}}`, opener, &req)
		if req.StatusToken != "" {
			t.Error("a staff-opened request got a status token")
		}
		s.awaitStaffStatus(req.ID, opener, domain.StatusPendingReview)
		approve := "/api/v1/admin/requests/" + req.ID + "/approve"
		// A second token of the opener's, named in other case, is still the opener.
		for who, tok := range map[string]string{"the opener": opener, "the opener's other token": s.token("Dana", auth.RoleAnalyst)} {
			a := s.do(http.MethodPost, approve, "", tok)
			if a.code != http.StatusConflict || !strings.Contains(a.errorBody(t).Message, "second staff member") {
				t.Errorf("approval by %s = %d %s, want 409", who, a.code, a.body)
			}
		}
		s.must(http.StatusOK, http.MethodPost, approve, "", second, nil)
		view := s.awaitStaffStatus(req.ID, second, domain.StatusCompleted)
		if view.Request.OpenedBy != "dana" || view.State.ApprovedBy != "eve" {
			t.Errorf("opened by %q, approved by %q; want dana and eve", view.Request.OpenedBy, view.State.ApprovedBy)
		}
	})
	t.Run("a completed request's record reaches its requester, staff and auditors", func(t *testing.T) {
		s.t = t
		admin, auditor := s.token("dana", auth.RoleAdmin), s.token("ann", auth.RoleAuditor)
		body := `{"type":"restrict","email":"gina@example.com","details":{"limits":["marketing_email"]}}`
		headers := http.Header{"Idempotency-Key": {"intake-gina-1"}, "Sec-Gpc": {"1"}}
		var req, again api.IntakeAnswer
		for _, out := range []*api.IntakeAnswer{&req, &again} {
			a := s.send(http.MethodPost, "/api/v1/requests", body, "", headers)
			if a.code != http.StatusAccepted {
				t.Fatalf("intake = %d %s", a.code, a.body)
			}
			if err := json.Unmarshal([]byte(a.body), out); err != nil {
				t.Fatal(err)
			}
		}
		if again.ID != req.ID || again.StatusToken != req.StatusToken || len(req.OptOutsRecorded) != 1 {
			t.Errorf("retried intake = %+v, first %+v; want the same answer with the GPC opt-out", again, req)
		}
		s.verify(req, "gina@example.com")
		s.awaitRequesterStatus(req, domain.StatusCompleted)

		var report api.Report
		s.eventually("the report", func() (bool, string) {
			a := s.do(http.MethodGet, "/api/v1/requests/"+req.ID+"/report", "", req.StatusToken)
			return a.code == http.StatusOK && json.Unmarshal([]byte(a.body), &report) == nil, a.body
		})
		if report.RequestID != req.ID || report.CompletedAt == nil {
			t.Errorf("report = %+v", report)
		}

		var list api.RequestList
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests?status=completed&id="+req.ID, "", admin, &list)
		if len(list.Requests) != 1 || list.Requests[0].Type != domain.TypeRestrict {
			t.Errorf("list = %+v, want the completed restriction", list)
		}
		if csv := s.do(http.MethodGet, "/api/v1/admin/requests?format=csv", "", admin); !strings.Contains(csv.body, req.ID) || strings.Contains(csv.body, "gina") {
			t.Errorf("export = %s, want the request without its address", csv.body)
		}
		var metrics api.MetricsReport
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/metrics", "", admin, &metrics)
		if metrics.ByType[domain.TypeRestrict].Completed < 1 || metrics.DaysToRespond.Count < 1 {
			t.Errorf("metrics = %+v, want the completed restriction counted", metrics)
		}

		var history struct {
			Events []struct {
				EventType string `json:"eventType"`
			} `json:"events"`
		}
		s.must(http.StatusOK, http.MethodGet, "/api/v1/audit/requests/"+req.ID+"/history", "", auditor, &history)
		if len(history.Events) < 2 || history.Events[0].EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" {
			t.Errorf("history starts %+v", history.Events[:min(2, len(history.Events))])
		}
		var log api.AuditLog
		s.must(http.StatusOK, http.MethodGet, "/api/v1/audit/events?request="+req.ID+"&limit=200", "", auditor, &log)
		if len(log.Events) < 2 || log.Events[0].Action != "received" || log.Events[len(log.Events)-1].Action != "completed" {
			t.Errorf("audit log = %+v, want received first and completed last", log.Events)
		}
		var key audit.PublicKeyInfo
		s.must(http.StatusOK, http.MethodGet, "/api/v1/audit/public-key", "", auditor, &key)
		pub, err := audit.ParsePublicKey(key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		bundle := s.do(http.MethodGet, "/api/v1/audit/requests/"+req.ID+"/evidence", "", auditor)
		if rep, err := audit.VerifyBundle([]byte(bundle.body), pub); bundle.code != http.StatusOK || err != nil || rep.Events < 2 {
			t.Errorf("evidence = %d, %+v, %v; want a bundle that verifies", bundle.code, rep, err)
		}
	})
}
