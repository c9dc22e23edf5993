package api_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// post sends a dashboard form with the session's cookie and, when csrf is set, its token.
func (d dashboard) post(path string, form url.Values, csrf bool) answer {
	d.h.t.Helper()
	if csrf {
		form.Set("csrf_token", d.answer.CSRFToken)
	}
	headers := http.Header{"Cookie": {d.cookie.Name + "=" + d.cookie.Value}, "Content-Type": formHeaders["Content-Type"]}
	return d.h.send(http.MethodPost, path, form.Encode(), "", headers)
}

func TestTasksPageCompletesATaskThroughItsForm(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	list := d.send(http.MethodGet, "/admin/tasks", "", "")
	if list.code != http.StatusOK || !strings.Contains(list.body, `href="/admin/tasks/`+url.PathEscape(id)+`"`) {
		t.Fatalf("tasks page = %d, want a link to the task", list.code)
	}
	page := d.send(http.MethodGet, "/admin/tasks/"+url.PathEscape(id), "", "")
	if page.code != http.StatusOK || !strings.Contains(page.body, `value="`+id+`"`) || !strings.Contains(page.body, "Mark the paper file as restricted.") {
		t.Fatalf("task page = %d, want the task's form and its instructions", page.code)
	}
	form := url.Values{"task": {id}, "found": {"name\n\npostal address"}, "note": {"done by hand"}}
	if a := d.post("/admin/tasks/complete", form, false); a.code != http.StatusForbidden {
		t.Errorf("completion without the CSRF token = %d, want 403", a.code)
	}
	if a := d.post("/admin/tasks/complete", form, true); a.code != http.StatusSeeOther || a.header.Get("Location") != "/admin/tasks?done=1" {
		t.Fatalf("completion = %d %s, want 303 back to the tasks", a.code, a.body)
	}
	task, err := h.requests.GetTask(t.Context(), id)
	if err != nil || task.Status != requestdb.TaskDone || task.CompletedBy != "carol" || !strings.Contains(task.Result, "postal address") {
		t.Errorf("task = %+v, %v; want done by carol with what was found", task, err)
	}
	if a := d.post("/admin/tasks/complete", form, true); a.code != http.StatusConflict || !strings.Contains(a.body, `id="task-error"`) {
		t.Errorf("completing it again = %d, want 409 shown on the page", a.code)
	}
	if p := d.send(http.MethodGet, "/admin/requests/"+req.ID, "", ""); !strings.Contains(p.body, `id="request-tasks"`) || !strings.Contains(p.body, "done by carol") {
		t.Errorf("request page = %d, want its task listed as done by carol", p.code)
	}
}

func TestMetricsPageShowsCountsAndOverdueRequests(t *testing.T) {
	h := newHarness(t, false)
	h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 40, -5, "")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	a := d.send(http.MethodGet, "/admin/metrics", "", "")
	if a.code != http.StatusOK || !strings.Contains(a.body, `id="m-received">1<`) || !strings.Contains(a.body, `id="m-overdue">1`) {
		t.Errorf("metrics page = %d, want 1 received and 1 overdue\n%s", a.code, a.body)
	}
	if a := d.send(http.MethodGet, "/admin/metrics?from=soon", "", ""); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="m-from-error"`) {
		t.Errorf("metrics with a bad date = %d, want 422 beside the field", a.code)
	}
}

func TestBulkDecisionShowsWhatBecameOfEachRequest(t *testing.T) {
	h := newHarness(t, false)
	first, second := h.open(), h.open()
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	if q := d.send(http.MethodGet, "/admin/requests", "", ""); !strings.Contains(q.body, `name="id" value="`+first.ID+`"`) {
		t.Error("the queue has no checkbox per request")
	}
	form := url.Values{"action": {"approve"}, "id": {first.ID, second.ID, "not-a-request"}}
	if a := d.post("/admin/requests/bulk", form, false); a.code != http.StatusForbidden {
		t.Errorf("bulk without the CSRF token = %d, want 403", a.code)
	}
	a := d.post("/admin/requests/bulk", form, true)
	if a.code != http.StatusMultiStatus || !strings.Contains(a.body, "1 of 3 requests could not be changed") || !strings.Contains(a.body, "No such request.") {
		t.Errorf("bulk approve = %d, want 207 naming the unknown request\n%s", a.code, a.body)
	}
	if n := len(h.engine.updates); n != 2 {
		t.Errorf("bulk approve sent %d updates, want 2", n)
	}
	h.engine.updateErr = errors.New("engine down")
	if a := d.post("/admin/requests/bulk", url.Values{"action": {"deny"}, "reason": {"no"}, "id": {first.ID}}, true); a.code != http.StatusMultiStatus {
		t.Errorf("bulk deny while the engine is down = %d, want 207 with the error per request", a.code)
	}
	if a := d.post("/admin/requests/bulk", url.Values{"action": {"delete"}, "id": {first.ID}}, true); a.code != http.StatusUnprocessableEntity {
		t.Errorf("bulk with an unknown action = %d, want 422", a.code)
	}
}

func TestStaffRequestFormOpensAChildErasure(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	if a := d.post("/admin/staff-request", url.Values{"email": {"kid@example.com"}, "jurisdiction": {"gdpr"}, "reason": {""}}, true); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="sr-reason-error"`) {
		t.Errorf("staff request without a reason = %d, want 422 beside the reason", a.code)
	}
	a := d.post("/admin/staff-request", url.Values{"email": {"kid@example.com"}, "jurisdiction": {"gdpr"}, "reason": {"Parent's letter, ID checked"}}, true)
	if a.code != http.StatusSeeOther || len(h.engine.started) != 1 {
		t.Fatalf("staff request = %d %s, %d workflows; want 303 and 1", a.code, a.body, len(h.engine.started))
	}
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	if loc := a.header.Get("Location"); loc != "/admin/requests/"+id+"?done=opened" {
		t.Errorf("redirect to %q", loc)
	}
	row, err := h.requests.GetRequest(t.Context(), id)
	if err != nil || row.Type != domain.TypeChildErasure || row.OpenedBy != "carol" {
		t.Errorf("request = %+v, %v; want a child erasure opened by carol", row, err)
	}
}
