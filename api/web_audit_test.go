package api_test

import (
	"net/http"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/dsr-project/dsr/internal/auth"
)

func TestAuditPageShowsAReadableHistoryAndTheEvidenceLink(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.recordStep(req.ID, 1, h.now, "approved")
	h.engine.history = []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventTime: timestamppb.New(h.now)},
		{EventId: 2, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventTime: timestamppb.New(h.now)},
		{EventId: 3, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventTime: timestamppb.New(h.now),
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: "SendNotice<script>"},
			}}},
	}
	d := h.signIn(h.token("ann", auth.RoleAuditor))
	a := d.send(http.MethodGet, "/audit?request="+req.ID, "", "")
	if a.code != http.StatusOK {
		t.Fatalf("audit page = %d %s", a.code, a.body)
	}
	for _, want := range []string{
		`id="evidence-link"`, `/api/v1/audit/requests/` + req.ID + `/evidence`,
		"Activity task scheduled", "SendNotice&lt;script&gt;", "Our privacy team approved your request",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("audit page lacks %s\n%s", want, a.body)
		}
	}
	if strings.Contains(a.body, "Workflow task scheduled") {
		t.Error("the history shows the engine's own bookkeeping")
	}
	if e := d.send(http.MethodGet, "/api/v1/audit/requests/"+req.ID+"/evidence", "", ""); e.code != http.StatusOK || e.header.Get("Content-Type") != "application/zip" {
		t.Errorf("evidence by the auditor's session = %d %s", e.code, e.header.Get("Content-Type"))
	}
}

func TestAuditPageSaysWhenTheRequestIDIsWrong(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("ann", auth.RoleAuditor))
	if a := d.send(http.MethodGet, "/audit?request=<x>", "", ""); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="audit-error"`) || strings.Contains(a.body, "<x>") {
		t.Errorf("audit page with a bad ID = %d, want 422 with the error, escaped", a.code)
	}
	if a := d.send(http.MethodGet, "/audit?request=00000000-0000-0000-0000-000000000000", "", ""); a.code != http.StatusNotFound {
		t.Errorf("audit page of an unknown request = %d, want 404", a.code)
	}
}

func TestAuditPageIsForAuditorsAndAdmins(t *testing.T) {
	h := newHarness(t, false)
	if a := h.do(http.MethodGet, "/audit", "", "", ""); a.code != http.StatusUnauthorized || !strings.Contains(a.body, `id="sign-in"`) {
		t.Errorf("audit signed out = %d, want 401 with the sign-in form", a.code)
	}
	if a := h.signIn(h.token("carol", auth.RoleAnalyst)).send(http.MethodGet, "/audit", "", ""); a.code != http.StatusForbidden {
		t.Errorf("audit as analyst = %d, want 403", a.code)
	}
	if a := h.signIn(h.token("dana", auth.RoleAdmin)).send(http.MethodGet, "/audit", "", ""); a.code != http.StatusOK {
		t.Errorf("audit as admin = %d, want 200", a.code)
	}
}
