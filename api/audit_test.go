package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func (h *harness) recordStep(requestID string, seq int64, at time.Time, action string) {
	h.t.Helper()
	_, err := h.requests.ApplyStep(context.Background(), requestdb.Step{
		RequestID: requestID, Seq: seq, Event: requestdb.AuditEvent{At: at, Role: "system", Action: action, Details: `["why"]`},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func TestAuditEventsByTimeAndRequestInPages(t *testing.T) {
	h := newHarness(t, false)
	auditor := h.token("ann", auth.RoleAuditor)
	a := h.seedRequest(domain.TypeReview, domain.StatusReceived, 5, 20, "")
	b := h.seedRequest(domain.TypeReview, domain.StatusReceived, 5, 20, "")
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h.recordStep(a, 1, day, "received")
	h.recordStep(b, 1, day.Add(time.Hour), "received")
	h.recordStep(a, 2, day.Add(48*time.Hour), "code_sent")
	get := func(query string) api.AuditLog {
		t.Helper()
		ans := h.do(http.MethodGet, "/api/v1/audit/events"+query, "", "", auditor)
		if ans.code != http.StatusOK {
			t.Fatalf("%s = %d %s", query, ans.code, ans.body)
		}
		var log api.AuditLog
		if err := json.Unmarshal([]byte(ans.body), &log); err != nil {
			t.Fatal(err)
		}
		return log
	}
	steps := func(log api.AuditLog) []string {
		out := []string{}
		for _, e := range log.Events {
			out = append(out, e.RequestID[:4]+" "+e.Action)
		}
		return out
	}
	if got, want := steps(get("")), []string{a[:4] + " received", b[:4] + " received", a[:4] + " code_sent"}; !reflect.DeepEqual(got, want) {
		t.Errorf("all = %v, want %v", got, want)
	}
	if got, want := steps(get("?from=2026-03-01T00:30:00Z&to=2026-03-03")), []string{b[:4] + " received"}; !reflect.DeepEqual(got, want) {
		t.Errorf("window = %v, want %v", got, want)
	}
	if got, want := steps(get("?action=code_sent")), []string{a[:4] + " code_sent"}; !reflect.DeepEqual(got, want) {
		t.Errorf("action code_sent = %v, want %v", got, want)
	}
	if got := steps(get("?actor=nobody")); len(got) != 0 {
		t.Errorf("actor nobody = %v, want none", got)
	}
	first := get("?request=" + a + "&limit=1")
	second := get("?request=" + a + "&limit=1&cursor=" + url.QueryEscape(first.NextCursor))
	if got := steps(first)[0] + ", " + steps(second)[0]; got != a[:4]+" received, "+a[:4]+" code_sent" || second.NextCursor != "" {
		t.Errorf("pages of one request = %s (next %q)", got, second.NextCursor)
	}
	if e := first.Events[0]; string(e.Details) != `["why"]` || e.Seq != 1 {
		t.Errorf("event = %+v", e)
	}
	bad := h.do(http.MethodGet, "/api/v1/audit/events?from=x&request=y&limit=0", "", "", auditor)
	if fields := bad.errorBody(t).Fields; bad.code != http.StatusUnprocessableEntity || len(fields) != 3 {
		t.Errorf("bad parameters = %d %s, want 422 naming from, request and limit", bad.code, bad.body)
	}
}

func TestWorkflowHistoryAsProtoJSON(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	id := h.seedRequest(domain.TypeReview, domain.StatusReceived, 1, 20, "")
	h.engine.history = []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventTime: timestamppb.New(h.now)},
		{EventId: 2, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventTime: timestamppb.New(h.now)},
	}
	a := h.do(http.MethodGet, "/api/v1/audit/requests/"+id+"/history", "", "", admin)
	if a.code != http.StatusOK {
		t.Fatalf("history = %d %s", a.code, a.body)
	}
	var got struct {
		Events []struct {
			EventID   string `json:"eventId"`
			EventType string `json:"eventType"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || got.Events[0].EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" || got.Events[1].EventID != "2" {
		t.Errorf("history = %s", a.body)
	}
	if a := h.do(http.MethodGet, "/api/v1/audit/requests/"+uuid.NewString()+"/history", "", "", admin); a.code != http.StatusNotFound {
		t.Errorf("history of an unknown request = %d, want 404", a.code)
	}
	h.engine.historyErr = serviceerror.NewNotFound("workflow not found")
	if a := h.do(http.MethodGet, "/api/v1/audit/requests/"+id+"/history", "", "", admin); a.code != http.StatusNotFound || strings.Contains(a.body, "workflow not found") {
		t.Errorf("history past retention = %d %s, want 404 in our words", a.code, a.body)
	}
	h.engine.historyErr = serviceerror.NewUnavailable("frontend down")
	if a := h.do(http.MethodGet, "/api/v1/audit/requests/"+id+"/history", "", "", admin); a.code != http.StatusServiceUnavailable {
		t.Errorf("history with the engine down = %d, want 503", a.code)
	}
}

func TestEvidenceBundleVerifiesWithThePublishedKey(t *testing.T) {
	h := newHarness(t, false)
	auditor := h.token("ann", auth.RoleAuditor)
	id := h.seedRequest(domain.TypeReview, domain.StatusReceived, 1, 20, "")
	h.recordStep(id, 1, h.now, "received")
	h.engine.history = []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventTime: timestamppb.New(h.now)}}
	a := h.do(http.MethodGet, "/api/v1/audit/requests/"+id+"/evidence", "", "", auditor)
	if a.code != http.StatusOK || a.header.Get("Content-Type") != "application/zip" || !strings.Contains(a.header.Get("Content-Disposition"), id) {
		t.Fatalf("evidence = %d %v %.200s", a.code, a.header, a.body)
	}
	if strings.Contains(a.body, "private.person") {
		t.Error("the bundle holds the address")
	}
	k := h.do(http.MethodGet, "/api/v1/audit/public-key", "", "", auditor)
	var key audit.PublicKeyInfo
	if err := json.Unmarshal([]byte(k.body), &key); err != nil || k.code != http.StatusOK {
		t.Fatalf("public key = %d %s: %v", k.code, k.body, err)
	}
	pub, err := audit.ParsePublicKey(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	report, err := audit.VerifyBundle([]byte(a.body), pub)
	if err != nil || report.RequestID != id || !report.KeyTrusted || report.PersonalData {
		t.Errorf("bundle = %+v, %v; want it to verify with the published key, without personal data", report, err)
	}
	if a := h.do(http.MethodGet, "/api/v1/audit/requests/"+uuid.NewString()+"/evidence", "", "", auditor); a.code != http.StatusNotFound {
		t.Errorf("evidence of an unknown request = %d, want 404", a.code)
	}
}
