package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/workflows"
)

func TestUnknownRequestAndWrongStatusTokenGetTheSameAnswer(t *testing.T) {
	h := newHarness(t, false)
	mine := h.open()
	other := h.open()
	cases := []struct{ name, id, token string }{
		{"no token", mine.ID, ""},
		{"wrong token", mine.ID, "not-the-token"},
		{"another request's token", mine.ID, other.StatusToken},
		{"unknown request", uuid.NewString(), mine.StatusToken},
		{"malformed id", "../admin", mine.StatusToken},
	}
	var first string
	for _, c := range cases {
		for _, route := range []struct{ method, path, body string }{
			{http.MethodGet, "", ""},
			{http.MethodPost, "/verify", `{"code":"123456"}`},
			{http.MethodPost, "/resend-code", ""},
			{http.MethodPost, "/identity", `{"answers":{"postal_code":"12345"}}`},
		} {
			a := h.do(route.method, "/api/v1/requests/"+c.id+route.path, "", route.body, c.token)
			if a.code != http.StatusUnauthorized {
				t.Errorf("%s %s%s: %d %s, want 401", c.name, route.method, route.path, a.code, a.body)
				continue
			}
			if first == "" {
				first = a.body
			}
			if a.body != first {
				t.Errorf("%s: body %s differs from %s", c.name, a.body, first)
			}
		}
	}
	if len(h.engine.updates) != 0 {
		t.Errorf("unauthorised callers reached the workflow: %v", h.engine.updates)
	}
}

func TestStatusTokenReachesItsRequestsWorkflow(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.engine.updateErr = temporal.NewApplicationError("the code is 6 to 8 digits", "")
	a := h.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", "", `{"code":"12"}`, req.StatusToken)
	if a.code != http.StatusConflict || a.errorBody(t).Message != "the code is 6 to 8 digits" {
		t.Errorf("rejected code = %d %s, want 409 with the workflow's message", a.code, a.body)
	}
	got := h.engine.updates[0]
	if got.WorkflowID != workflows.RequestID(req.ID) || got.UpdateName != workflows.UpdateVerifyEmail ||
		len(got.Args) != 1 || got.Args[0] != (workflows.VerifyEmailInput{Code: "12"}) {
		t.Errorf("update = %+v, want verify-email with the code", got)
	}
}

func TestUpdateOfAClosedRequestAnswers409(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.engine.updateErr = serviceerror.NewNotFound("workflow execution already completed")
	a := h.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/resend-code", "", "", req.StatusToken)
	if a.code != http.StatusConflict {
		t.Errorf("resend on a closed request = %d %s, want 409", a.code, a.body)
	}
}

func TestEngineFailureDuringAnUpdateAnswers503(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.engine.updateErr = serviceerror.NewUnavailable("connection refused")
	a := h.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/identity", "", `{"answers":{"postal_code":"1"}}`, req.StatusToken)
	if a.code != http.StatusServiceUnavailable || strings.Contains(a.body, "refused") {
		t.Errorf("update with the engine down = %d %s, want 503 without internals", a.code, a.body)
	}
}

func TestStaffRoutesNeedALiveAnalystOrAdminToken(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	auditor := h.token("ann", auth.RoleAuditor)
	revoked, tok, err := h.tokens.Create(context.Background(), "rob", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.tokens.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/admin/requests/" + req.ID, ""},
		{http.MethodPost, "/api/v1/admin/requests/" + req.ID + "/approve", ""},
		{http.MethodPost, "/api/v1/admin/requests/" + req.ID + "/deny", `{"reason":"no"}`},
		{http.MethodPost, "/api/v1/admin/requests", `{"type":"child_erasure","email":"kid@example.com","details":{"reason":"parent asked"}}`},
	}
	for _, r := range routes {
		for _, c := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"unknown token", "nonsense", http.StatusUnauthorized},
			{"revoked token", revoked, http.StatusUnauthorized},
			{"status token", req.StatusToken, http.StatusUnauthorized},
			{"auditor", auditor, http.StatusForbidden},
		} {
			if a := h.do(r.method, r.path, "", r.body, c.token); a.code != c.want {
				t.Errorf("%s on %s %s: %d %s, want %d", c.name, r.method, r.path, a.code, a.body, c.want)
			}
		}
	}
	if len(h.engine.updates) != 0 || len(h.engine.started) != 1 {
		t.Errorf("refused callers reached the engine: %d updates, %d starts", len(h.engine.updates), len(h.engine.started))
	}
}

func TestStaffActionsMapToWorkflowUpdatesAsTheToken(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	analyst, tok, err := h.tokens.Create(context.Background(), "carol", auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	h.engine.updateErr = temporal.NewApplicationError("not possible while the request is received", "")
	carol := workflows.Actor{Name: "carol", Role: "analyst", ID: tok.ID}
	for action, c := range map[string]struct {
		update string
		want   any
	}{
		"approve":         {workflows.UpdateApprove, workflows.ApproveInput{Actor: carol, Reason: "r"}},
		"deny":            {workflows.UpdateDeny, workflows.DenyInput{Actor: carol, Reason: "r"}},
		"verify-identity": {workflows.UpdateVerifyIdentity, workflows.VerifyIdentityInput{Actor: carol, Reason: "r"}},
		"extend":          {workflows.UpdateExtend, workflows.ExtendInput{Actor: carol, Reason: "r"}},
		"cancel":          {workflows.UpdateCancel, workflows.CancelInput{Actor: carol, Reason: "r"}},
		"retry":           {workflows.UpdateRetryStore, workflows.RetryStoreInput{Actor: carol, Store: "s"}},
		"notes":           {workflows.UpdateAddNote, workflows.AddNoteInput{Actor: carol, Text: "t"}},
		"assign":          {workflows.UpdateAssign, workflows.AssignInput{Actor: carol, Assignee: "a"}},
	} {
		h.engine.updates = nil
		body := `{"reason":"r","text":"t","assignee":"a","store":"s"}`
		a := h.do(http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/"+action, "", body, analyst)
		if a.code != http.StatusConflict || a.errorBody(t).Message != "not possible while the request is received" {
			t.Errorf("%s: %d %s, want the workflow's refusal as 409", action, a.code, a.body)
		}
		if len(h.engine.updates) != 1 || h.engine.updates[0].UpdateName != c.update || h.engine.updates[0].Args[0] != c.want {
			t.Errorf("%s sent %+v, want %s with %+v", action, h.engine.updates, c.update, c.want)
		}
	}
}

func TestStaffRoutesAnswer404ForUnknownRequestsAndActions(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	admin := h.token("dana", auth.RoleAdmin)
	for _, path := range []string{
		"/api/v1/admin/requests/" + uuid.NewString() + "/approve",
		"/api/v1/admin/requests/not-a-uuid/approve",
		"/api/v1/admin/requests/" + req.ID + "/delete-everything",
	} {
		if a := h.do(http.MethodPost, path, "", "", admin); a.code != http.StatusNotFound {
			t.Errorf("POST %s = %d %s, want 404", path, a.code, a.body)
		}
	}
	if a := h.do(http.MethodGet, "/api/v1/admin/requests/"+uuid.NewString(), "", "", admin); a.code != http.StatusNotFound {
		t.Errorf("GET unknown request = %d %s, want 404", a.code, a.body)
	}
}

func TestStaffOpenedRequestGetsNoStatusToken(t *testing.T) {
	h := newHarness(t, false)
	admin, tok, err := h.tokens.Create(context.Background(), "dana", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodPost, "/api/v1/admin/requests", "", `{"type":"child_erasure","email":"kid@example.com","jurisdiction":"gdpr","details":{"reason":"a parent asked"}}`, admin)
	if a.code != http.StatusAccepted || strings.Contains(a.body, "status_token") {
		t.Fatalf("staff intake = %d %s, want 202 without a status token", a.code, a.body)
	}
	// The token ID is the principal a second approver must differ from; the name is for people.
	if in := h.engine.inputs[0]; in.OpenedBy != "dana" || in.OpenedByID != tok.ID {
		t.Errorf("opened by %q (%q), want dana (%q)", in.OpenedBy, in.OpenedByID, tok.ID)
	}
	id := h.engine.inputs[0].RequestID
	if a := h.do(http.MethodGet, "/api/v1/requests/"+id, "", "", "x"); a.code != http.StatusUnauthorized {
		t.Errorf("requester view of a staff-opened request = %d, want 401", a.code)
	}
}

// The requester's status reads the database and never asks the engine; the staff view
// still asks the workflow for its own state, and concurrent views of one request share one
// query. When the query fails, the view answers from the database and says so.
func TestConcurrentStaffViewsOfOneRequestShareOneQuery(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	token := h.token("ana", auth.RoleAnalyst)
	entered := make(chan struct{}, 1)
	h.engine.queryGate, h.engine.queryEntered = make(chan struct{}), entered
	const callers = 8
	type answer struct {
		code       int
		stateError string
	}
	var wg sync.WaitGroup
	answers := make(chan answer, callers)
	for range callers {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/admin/requests/"+req.ID, nil)
			r.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, r)
			var view api.StaffView
			_ = json.Unmarshal(rec.Body.Bytes(), &view)
			answers <- answer{rec.Code, view.StateError}
		})
	}
	// Once the first query is held, give the other callers ample time to arrive behind it.
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no staff view asked the engine for the workflow's state")
	}
	time.Sleep(time.Second)
	close(h.engine.queryGate)
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.code != http.StatusOK || a.stateError == "" {
			t.Errorf("staff view = %d with state error %q, want 200 saying the state is unavailable", a.code, a.stateError)
		}
	}
	h.engine.mu.Lock()
	defer h.engine.mu.Unlock()
	if h.engine.queries >= callers {
		t.Errorf("%d callers made %d queries, want them to share", callers, h.engine.queries)
	}
}
