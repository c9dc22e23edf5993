package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/requestdb"
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
		"Activity task scheduled", "SendNotice&lt;script&gt;", "Approved",
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

// step records one audit event of a request as the workflow would.
func (h *harness) step(requestID string, seq int64, at time.Time, e requestdb.AuditEvent) {
	h.t.Helper()
	e.At = at
	if _, err := h.requests.ApplyStep(context.Background(), requestdb.Step{RequestID: requestID, Seq: seq, Event: e}); err != nil {
		h.t.Fatal(err)
	}
}

// Times are to the second, and every store step names its store: the fan-out's activity
// and its failure in the workflow history (whose input the engine holds encrypted), the
// audit log's store steps, and each store's recorded state.
func TestAuditPageShowsSecondsAndTheStoreOfEachStoreStep(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	at := h.now.Add(7 * time.Second)
	h.step(req.ID, 1, at, requestdb.AuditEvent{Role: "system", Action: "stores_failed", FromStatus: "in_progress", ToStatus: "needs_attention", Details: `["webstore"]`})
	if err := h.requests.StartStores(context.Background(), req.ID, []string{"newsletter", "webstore"}); err != nil {
		t.Fatal(err)
	}
	input, err := codec.DataConverter(h.codecRing).ToPayloads(activities.RunStoresInput{RequestID: req.ID, Stores: []string{"newsletter", "webstore"}})
	if err != nil {
		t.Fatal(err)
	}
	h.engine.history = []*historypb.HistoryEvent{
		{EventId: 5, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventTime: timestamppb.New(at),
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: "RunStores"}, Input: input,
			}}},
		{EventId: 7, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventTime: timestamppb.New(at),
			Attributes: &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
				ScheduledEventId: 5, Failure: &failurepb.Failure{Message: "database is locked"},
			}}},
	}
	d := h.signIn(h.token("ann", auth.RoleAuditor))
	a := d.send(http.MethodGet, "/audit?request="+req.ID, "", "")
	if a.code != http.StatusOK {
		t.Fatalf("audit page = %d %s", a.code, a.body)
	}
	for _, want := range []string{
		"2 Mar 2026 09:30:22 UTC",                         // the step, to the second
		"RunStores · newsletter, webstore",                // the fan-out, with its stores
		"newsletter, webstore: database is locked",        // its failure
		"in progress → needs attention · webstore",        // the audit log's store step
		"<td>store newsletter</td><td>Store running</td>", // each store's recorded state
		"<td>store webstore</td><td>Store running</td>",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("audit page lacks %q\n%s", want, a.body)
		}
	}
}

// A search of the audit log by dates, actor and action lists the matching events of every
// request, linked to each request's history, with the form filled from the URL.
func TestAuditPageSearchesTheLogByDateActorAndAction(t *testing.T) {
	h := newHarness(t, false)
	first, second := h.open(), h.open()
	day := func(d int) time.Time { return time.Date(2026, 3, d, 10, 0, 0, 0, time.UTC) }
	h.step(first.ID, 1, day(1), requestdb.AuditEvent{Actor: "ana", Role: "analyst", Action: "note_added", Details: `["called back"]`})
	h.step(first.ID, 2, day(3), requestdb.AuditEvent{Actor: "ana", Role: "analyst", Action: "note_added", Details: `["too late"]`})
	h.step(second.ID, 1, day(2), requestdb.AuditEvent{Actor: "ana", Role: "analyst", Action: "approved"})
	h.step(second.ID, 2, day(2), requestdb.AuditEvent{Actor: "bo", Role: "analyst", Action: "note_added", Details: `["someone else"]`})
	d := h.signIn(h.token("ann", auth.RoleAuditor))

	q := url.Values{"from": {"2026-03-01"}, "to": {"2026-03-02"}, "actor": {"ana"}, "action": {"note_added"}}
	a := d.send(http.MethodGet, "/audit?"+q.Encode(), "", "")
	if a.code != http.StatusOK {
		t.Fatalf("search = %d %s", a.code, a.body)
	}
	for _, want := range []string{
		`href="/audit?request=` + first.ID + `"`, "called back", "1 Mar 2026 10:00:00 UTC",
		`value="2026-03-01"`, `value="2026-03-02"`, `value="ana"`, `<option value="note_added" selected>`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("search lacks %q\n%s", want, a.body)
		}
	}
	for _, unwanted := range []string{"too late", "someone else", second.ID} {
		if strings.Contains(a.body, unwanted) {
			t.Errorf("search shows %q, which does not match", unwanted)
		}
	}
	// The end date is included: 2 March holds both of the second request's events.
	q = url.Values{"from": {"2026-03-02"}, "to": {"2026-03-02"}}
	if a := d.send(http.MethodGet, "/audit?"+q.Encode(), "", ""); !strings.Contains(a.body, "someone else") || strings.Count(a.body, `href="/audit?request=`+second.ID) != 2 {
		t.Errorf("one day's events = %d\n%s", a.code, a.body)
	}
	for _, bad := range []url.Values{{"from": {"yesterday"}}, {"from": {"2026-03-03"}, "to": {"2026-03-01"}}, {"actor": {"ana"}, "request": {"<x>"}}} {
		if a := d.send(http.MethodGet, "/audit?"+bad.Encode(), "", ""); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="audit-error"`) {
			t.Errorf("search %v = %d, want 422 saying what is wrong", bad, a.code)
		}
	}
}

// The markers of local activities, the request's bookkeeping, name the activity; those
// that write audit steps, each a line of the audit log already, are left out.
func TestAuditPageNamesLocalActivities(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	marker := func(id int64, activity string) *historypb.HistoryEvent {
		data, err := codec.DataConverter(h.codecRing).ToPayloads(map[string]any{"ActivityID": "1", "ActivityType": activity})
		if err != nil {
			t.Fatal(err)
		}
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_MARKER_RECORDED, EventTime: timestamppb.New(h.now),
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "LocalActivity", Details: map[string]*commonpb.Payloads{"data": data},
			}}}
	}
	h.engine.history = []*historypb.HistoryEvent{marker(3, "ListStores"), marker(4, "RecordSteps")}
	a := h.signIn(h.token("ann", auth.RoleAuditor)).send(http.MethodGet, "/audit?request="+req.ID, "", "")
	if !strings.Contains(a.body, "<td>Local activity</td><td>ListStores</td>") {
		t.Errorf("audit page lacks the ListStores local activity\n%s", a.body)
	}
	if strings.Contains(a.body, "RecordSteps") || strings.Contains(a.body, "Marker recorded") {
		t.Errorf("audit page shows the step-writing marker\n%s", a.body)
	}
}
