package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// laterStore is a system that always answers later, as a manual or webhook store does.
type laterStore string

func (s laterStore) Name() string { return string(s) }

func (s laterStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{}, fmt.Errorf("store %s: %w", s, connector.ErrPending)
}

func (s laterStore) Capabilities() connector.Capabilities { return connector.Capabilities{} }

func TestLateAnswersCompleteARequestOnTheRealEngine(t *testing.T) {
	s := startStack(t, func(o *api.Options, a *activities.Activities) {
		a.Stores = []connector.Connector{laterStore("paper-files"), laterStore("newsletter")}
		o.CallbackKeys, o.CallbackStores = callbackKeys, callbackStores
	})
	analyst := s.token("carol", auth.RoleAnalyst)
	req := s.open(`{"type":"restrict","email":"lena@example.com","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "lena@example.com")
	s.awaitStaffStatus(req.ID, analyst, domain.StatusAwaitingManualTasks)
	paper := openTask(t, s.requests, req.ID, "paper-files")
	stray := openTask(t, s.requests, req.ID, "ledger")

	a := s.do(http.MethodPost, completePath(stray), `{"result":{"not_found":true}}`, analyst)
	if a.code != http.StatusConflict || a.errorBody(t).Message != "the request does not use that store" {
		t.Errorf("completing a task of a store the request does not use = %d %s, want the validator's 409", a.code, a.body)
	}

	newsletter := callback{req.ID, newsletterDone(req.ID), "k-news", newsletterSecret, time.Now()}
	if a := newsletter.post(t, s.send); a.code != http.StatusNoContent {
		t.Fatalf("newsletter callback = %d %s, want 204", a.code, a.body)
	}
	var task api.TaskView
	s.must(http.StatusOK, http.MethodPost, completePath(paper), paperFilesResult, analyst, &task)
	if task.Status != "done" || task.CompletedBy != "carol" {
		t.Errorf("completed task = %+v", task)
	}
	if a := s.do(http.MethodPost, completePath(paper), paperFilesResult, analyst); a.code != http.StatusConflict {
		t.Errorf("completing the task again = %d %s, want 409", a.code, a.body)
	}

	view := s.awaitStaffStatus(req.ID, analyst, domain.StatusCompleted)
	var answeredBy []string
	for _, e := range view.Audit {
		if e.Action == "store_answered" {
			answeredBy = append(answeredBy, e.Actor+"/"+e.Role)
		}
	}
	slices.Sort(answeredBy)
	if want := []string{"carol/analyst", "newsletter/system"}; !slices.Equal(answeredBy, want) {
		t.Errorf("store_answered by %v, want %v", answeredBy, want)
	}
	var report api.Report
	s.must(http.StatusOK, http.MethodGet, "/api/v1/requests/"+req.ID+"/report", "", req.StatusToken, &report)
	if raw, _ := json.Marshal(report); !strings.Contains(string(raw), "signed contract") || !strings.Contains(string(raw), "Marketing e-mail stopped") {
		t.Errorf("report = %s, want both late answers", raw)
	}

	newsletter.at = time.Now()
	if a := newsletter.post(t, s.send); a.code != http.StatusNoContent {
		t.Errorf("a repeated callback after completion = %d %s, want 204", a.code, a.body)
	}
	var done, open api.TaskList
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/tasks?status=done", "", analyst, &done)
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/tasks", "", analyst, &open)
	if len(done.Tasks) != 1 || done.Tasks[0].ID != paper || len(open.Tasks) != 1 || open.Tasks[0].ID != stray {
		t.Errorf("done %+v, open %+v; want the paper task done and the stray one open", done.Tasks, open.Tasks)
	}
}
