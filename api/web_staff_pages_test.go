package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// reads are the audit events that record views of a request's requester details.
func reads(t *testing.T, h *harness, requestID string) []requestdb.AuditEvent {
	t.Helper()
	events, err := h.requests.AuditEvents(context.Background(), requestID)
	if err != nil {
		t.Fatal(err)
	}
	var out []requestdb.AuditEvent
	for _, e := range events {
		if e.Action == requestdb.ActionAccessed {
			out = append(out, e)
		}
	}
	return out
}

func TestRequestPageWaitingForAManualTaskSpeaksWordsAndOffersOnlyWhatTheWorkflowTakes(t *testing.T) {
	h := newHarness(t, false)
	id := h.seedRequest(domain.TypeRestrict, domain.StatusAwaitingManualTasks, 3, 20, "")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	a := d.send(http.MethodGet, "/admin/requests/"+id, "", "")
	if a.code != http.StatusOK {
		t.Fatalf("request page = %d %s", a.code, a.body)
	}
	for _, want := range []string{"Waiting for a manual task", "Limit the use of data", "private.person@example.com",
		`id="extend-form"`, `id="cancel-form"`, `id="notes-form"`, `id="assign-form"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("request page lacks %s", want)
		}
	}
	for _, refused := range []string{`id="approve-form"`, `id="deny-form"`, `id="verify-identity-form"`, `id="retry-form"`} {
		if strings.Contains(a.body, refused) {
			t.Errorf("request page offers %s, which the workflow refuses while waiting for a manual task", refused)
		}
	}
	// The raw name stays only in the attribute tests and scripts read.
	if n := strings.Count(a.body, "awaiting_manual_tasks"); n != 1 || strings.Contains(a.body, "awaiting manual tasks") {
		t.Errorf("the raw status shows %d times, want only in data-status", n)
	}
	if strings.Count(a.body, "Reason, which the requester is told") > 0 {
		t.Error("deny and extend still share one label")
	}
}

func TestViewingTheRequesterOnARequestOrTaskPageIsAudited(t *testing.T) {
	h := newHarness(t, false)
	id := h.seedRequest(domain.TypeRestrict, domain.StatusAwaitingManualTasks, 3, 20, "")
	task := openTask(t, h.requests, id, "paper-files")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	if a := d.send(http.MethodGet, "/admin/requests/"+id, "", ""); a.code != http.StatusOK || !strings.Contains(a.body, `id="requester-email">private.person@example.com<`) {
		t.Fatalf("request page = %d, want the requester's address", a.code)
	}
	if a := d.send(http.MethodGet, "/admin/tasks/"+url.PathEscape(task), "", ""); a.code != http.StatusOK || !strings.Contains(a.body, `id="requester-email">private.person@example.com<`) {
		t.Fatalf("task page = %d, want the requester's address", a.code)
	}
	got := reads(t, h, id)
	if len(got) != 2 || got[0].Details != `["request page"]` || got[1].Details != `["task page"]` {
		t.Fatalf("reads recorded = %+v, want the request page's then the task page's", got)
	}
	for _, e := range got {
		if e.Actor != "carol" || e.Role != string(auth.RoleAnalyst) || strings.Contains(e.Details+e.Actor, "@") {
			t.Errorf("read event = %+v, want carol the analyst and no address", e)
		}
	}
	if a := d.send(http.MethodGet, "/admin/requests/"+id, "", ""); !strings.Contains(a.body, `id="reads"`) {
		t.Error("the request page does not list who viewed the requester's details")
	}
	// The staff API's view carries the address too, so it is recorded as well.
	if a := h.do(http.MethodGet, "/api/v1/admin/requests/"+id, "", "", h.token("dana", auth.RoleAdmin)); a.code != http.StatusOK || !strings.Contains(a.body, "private.person@example.com") {
		t.Fatalf("staff API view = %d, want the requester's address", a.code)
	}
	if got := reads(t, h, id); len(got) != 4 || got[3].Actor != "dana" || got[3].Details != `["staff API"]` {
		t.Errorf("reads recorded = %+v, want the staff API's read by dana last", got)
	}
	// The task list names no requester, so it has no view to record.
	if v := h.do(http.MethodGet, "/admin/tasks", "", "", h.token("dana", auth.RoleAdmin)); strings.Contains(v.body, "private.person") {
		t.Error("the task list shows the requester without recording it")
	}
	// The requester's own status leaves the staff's views out.
	own := h.open()
	d.send(http.MethodGet, "/admin/requests/"+own.ID, "", "")
	if len(reads(t, h, own.ID)) != 1 {
		t.Fatal("the view of the requester's own request was not recorded")
	}
	if a := h.do(http.MethodGet, "/api/v1/requests/"+own.ID, "", "", own.StatusToken); a.code != http.StatusOK || strings.Contains(a.body, requestdb.ActionAccessed) {
		t.Errorf("requester's status = %d %s, want no staff views in it", a.code, a.body)
	}
}

func TestCorrectionShowsTheRequestedChangeBesideTheValueHeldBefore(t *testing.T) {
	var sealed *requestdb.Repo
	h := newHarness(t, false, func(o *api.Options) {
		sealed = o.Requests.WithResultKeys(newCodecRing(t))
		o.Requests = sealed
	})
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: domain.TypeCorrect, Jurisdiction: domain.JurisdictionGDPR, Status: domain.StatusPendingReview,
		Email: "ada@example.com", EmailHash: "h", Details: `{"changes":[{"field":"postal_address","value":"1 New Street"}]}`,
		ReceivedAt: h.now, DueAt: h.now.AddDate(0, 1, 0), OriginalDueAt: h.now.AddDate(0, 1, 0), UpdatedAt: h.now,
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	task := openTask(t, h.requests, row.ID, "paper-files")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	for _, path := range []string{"/admin/requests/" + row.ID, "/admin/tasks/" + url.PathEscape(task)} {
		a := d.send(http.MethodGet, path, "", "")
		if a.code != http.StatusOK || !strings.Contains(a.body, `id="corrections"`) || !strings.Contains(a.body, "postal address") ||
			!strings.Contains(a.body, "1 New Street") || !strings.Contains(a.body, "not looked up yet") {
			t.Errorf("%s = %d, want the change asked for and its current value not looked up yet", path, a.code)
		}
	}
	err := sealed.SaveStoreResult(context.Background(), row.ID, "accounts", connector.Result{Store: "accounts", Changed: []string{"postal_address"},
		Before: []connector.PriorValue{{Table: "customers", Field: "postal_address", Value: "3 Old Road"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a := d.send(http.MethodGet, "/admin/requests/"+row.ID, "", ""); !strings.Contains(a.body, `3 Old Road <span class="hint">(accounts)</span>`) {
		t.Errorf("request page = %d, want the value accounts held before the change", a.code)
	}
}

func TestTaskFormWithARecordKeptCompletesTheTaskAndShowsItRetained(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	missingReason := url.Values{"task": {id}, "found": {"name"}, "kept_what": {"signed contract", "", ""}, "kept_reason": {"", "", ""}, "kept_until": {"", "", ""}}
	if a := d.post("/admin/tasks/complete", missingReason, true); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="kept-reason-0-error"`) ||
		!strings.Contains(a.body, `value="signed contract"`) {
		t.Errorf("a record kept without a reason = %d, want 422 beside its reason, the input kept", a.code)
	}
	form := url.Values{"task": {id}, "found": {"name"}, "changed": {"name"},
		"kept_what": {"", "signed contract", ""}, "kept_reason": {"", "Contract law: kept 6 years", ""}, "kept_until": {"", "2031-01-01", ""}}
	if a := d.post("/admin/tasks/complete", form, true); a.code != http.StatusSeeOther {
		t.Fatalf("completion = %d %s, want 303", a.code, a.body)
	}
	want := []connector.Retention{{What: "signed contract", Reason: "Contract law: kept 6 years", Until: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}}
	updates := h.engine.updates
	if len(updates) != 1 {
		t.Fatalf("updates = %d, want the store result", len(updates))
	}
	if in, ok := updates[0].Args[0].(workflows.StoreResultInput); !ok || len(in.Result.Retained) != 1 || in.Result.Retained[0] != want[0] {
		t.Errorf("store result sent = %+v, want the record kept %+v", updates[0].Args[0], want)
	}
	kept := "signed contract: Contract law: kept 6 years, until 1 January 2031"
	if a := d.send(http.MethodGet, "/admin/requests/"+req.ID, "", ""); !strings.Contains(a.body, kept) {
		t.Errorf("request page = %d, lacks %q in its tasks", a.code, kept)
	}
	if a := d.send(http.MethodGet, "/admin/tasks/"+url.PathEscape(id), "", ""); !strings.Contains(a.body, `id="task-kept">`+kept) {
		t.Errorf("task page = %d, lacks %q as kept", a.code, kept)
	}
}
