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

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// openTask opens the manual task of a request in store, as the manual connector does.
func openTask(t *testing.T, repo *requestdb.Repo, requestID, store string) string {
	t.Helper()
	err := repo.CreateTask(context.Background(), requestdb.Task{RequestID: requestID, Store: store, Operation: "restrict",
		Instructions: "Mark the paper file as restricted.", DueAt: time.Now().AddDate(0, 0, 14)})
	if err != nil {
		t.Fatal(err)
	}
	return requestdb.TaskID(requestID, store)
}

// completePath encodes the colon of the task ID too, as a cautious client does.
func completePath(taskID string) string {
	return "/api/v1/admin/tasks/" + strings.ReplaceAll(url.PathEscape(taskID), ":", "%3A") + "/complete"
}

const paperFilesResult = `{"result":{"found":["name"],"changed":["name"],
	"retained":[{"what":"signed contract","reason":"Contract law","until":"2031-01-01T00:00:00Z"}],
	"notes":["The paper file is marked restricted."],"not_found":false,
	"disclosed_to":[{"recipient":"Archive Partner Ltd","since":"2020-05-01T00:00:00Z"},{"recipient":"Courier Co"}]},"note":"cabinet 4"}`

func TestTaskListShowsOpenTasksByDefault(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	var open api.TaskList
	a := h.do(http.MethodGet, "/api/v1/admin/tasks", "", "", analyst)
	if a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &open) != nil || len(open.Tasks) != 1 {
		t.Fatalf("open tasks = %d %s, want one", a.code, a.body)
	}
	if got := open.Tasks[0]; got.ID != id || got.RequestID != req.ID || got.Store != "paper-files" || got.Status != "open" ||
		got.Instructions == "" || string(got.Result) != "null" {
		t.Errorf("task = %+v", got)
	}
	if a := h.do(http.MethodGet, "/api/v1/admin/tasks?status=done", "", "", analyst); a.code != http.StatusOK || !strings.Contains(a.body, `"tasks":[]`) {
		t.Errorf("done tasks = %d %s, want none", a.code, a.body)
	}
	for _, query := range []string{"?status=closed", "?limit=5"} {
		if a := h.do(http.MethodGet, "/api/v1/admin/tasks"+query, "", "", analyst); a.code != http.StatusBadRequest {
			t.Errorf("tasks%s = %d %s, want 400", query, a.code, a.body)
		}
	}
}

func TestCompletingATaskDeliversItsResultAsTheStaffMember(t *testing.T) {
	h := newHarness(t, false)
	analyst, tok, err := h.tokens.Create(context.Background(), "carol", auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	a := h.do(http.MethodPost, completePath(id), "", paperFilesResult, analyst)
	var done api.TaskView
	if a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &done) != nil {
		t.Fatalf("complete = %d %s, want 200", a.code, a.body)
	}
	if done.Status != "done" || done.CompletedBy != "carol" || done.Note != "cabinet 4" || done.CompletedAt == nil ||
		!strings.Contains(string(done.Result), "signed contract") {
		t.Errorf("completed task = %+v", done)
	}
	want := workflows.StoreResultInput{
		Store: "paper-files",
		Result: connector.Result{Store: "paper-files", Found: []string{"name"}, Changed: []string{"name"},
			Retained: []connector.Retention{{What: "signed contract", Reason: "Contract law", Until: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}},
			Notes:    []string{"The paper file is marked restricted."},
			DisclosedTo: []connector.Disclosure{{Recipient: "Archive Partner Ltd", Since: time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)},
				{Recipient: "Courier Co"}}},
		Actor: workflows.Actor{Name: "carol", Role: "analyst", ID: tok.ID},
	}
	got := h.engine.updates
	if len(got) != 1 || got[0].WorkflowID != workflows.RequestID(req.ID) || got[0].UpdateName != workflows.UpdateStoreResult ||
		!reflect.DeepEqual(got[0].Args[0], want) {
		t.Errorf("updates = %+v, want store-result %+v", got, want)
	}
}

func TestTaskIsCompletedOnce(t *testing.T) {
	h := newHarness(t, false)
	analyst, admin := h.token("carol", auth.RoleAnalyst), h.token("dana", auth.RoleAdmin)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	if a := h.do(http.MethodPost, completePath(id), "", paperFilesResult, analyst); a.code != http.StatusOK {
		t.Fatalf("first completion = %d %s", a.code, a.body)
	}
	a := h.do(http.MethodPost, completePath(id), "", `{"result":{"not_found":true}}`, admin)
	if a.code != http.StatusConflict || !strings.Contains(a.errorBody(t).Message, "already done") {
		t.Errorf("second completion = %d %s, want 409 already done", a.code, a.body)
	}
	if len(h.engine.updates) != 1 {
		t.Errorf("the second completion reached the workflow: %d updates", len(h.engine.updates))
	}
}

func TestTaskTheWorkflowRefusesStaysOpen(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	h.engine.updateErr = temporal.NewApplicationError("not possible while the request is pending_verification", "")
	a := h.do(http.MethodPost, completePath(id), "", paperFilesResult, analyst)
	if a.code != http.StatusConflict || a.errorBody(t).Message != "not possible while the request is pending_verification" {
		t.Errorf("refused completion = %d %s, want 409 with the workflow's reason", a.code, a.body)
	}
	if task, err := h.requests.GetTask(context.Background(), id); err != nil || task.Status != requestdb.TaskOpen {
		t.Errorf("task after the refusal = %+v, %v; want it open", task, err)
	}
}

func TestTaskCompletionIsChecked(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	req := h.open()
	id := openTask(t, h.requests, req.ID, "paper-files")
	tests := []struct {
		name, path, body string
		want             int
		field            string
	}{
		{"no result", completePath(id), `{"note":"x"}`, http.StatusUnprocessableEntity, "result"},
		{"a retention without reason", completePath(id), `{"result":{"retained":[{"what":"contract"}]}}`, http.StatusUnprocessableEntity, "result.retained[0].reason"},
		{"a blank category", completePath(id), `{"result":{"found":[" "]}}`, http.StatusUnprocessableEntity, "result.found[0]"},
		{"a recipient without a name", completePath(id), `{"result":{"disclosed_to":[{"since":"2020-05-01T00:00:00Z"}]}}`, http.StatusUnprocessableEntity, "result.disclosed_to[0].recipient"},
		{"a note too long", completePath(id), `{"result":{},"note":"` + strings.Repeat("x", 1001) + `"}`, http.StatusUnprocessableEntity, "note"},
		{"exported data", completePath(id), `{"result":{"export":{"name":"Ada"}}}`, http.StatusBadRequest, ""},
		{"an unknown task", completePath(req.ID + ":ledger"), `{"result":{}}`, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		a := h.do(http.MethodPost, tc.path, "", tc.body, analyst)
		if a.code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, a.code, a.body, tc.want)
			continue
		}
		if e := a.errorBody(t); tc.field != "" && e.Fields[tc.field] == "" {
			t.Errorf("%s: fields %v, want %s named", tc.name, e.Fields, tc.field)
		}
	}
	if len(h.engine.updates) != 0 {
		t.Errorf("refused completions reached the workflow: %+v", h.engine.updates)
	}
}
