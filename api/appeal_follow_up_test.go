package api_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// A granted appeal is acted on: dsr opens a request of the same type and details for the
// same person, staff-opened by whoever granted it, which another staff member approves;
// the person's mail and pages point to it. RECORD_TO saves the appeal's history for the
// replay tests of workflows (testdata/appeal-granted.json).
func TestAGrantedAppealOpensAFollowUpRequestThatAnotherStaffMemberApproves(t *testing.T) {
	s := startStack(t)
	carol, dave, erin := s.token("carol", auth.RoleAnalyst), s.token("dave", auth.RoleAnalyst), s.token("erin", auth.RoleAnalyst)
	req := s.deniedRequest("gus@example.com", carol)
	s.must(http.StatusAccepted, http.MethodPost, "/api/v1/requests/"+req.ID+"/appeal", `{"text":"My name is Vic Vale; my passport says so."}`, req.StatusToken, nil)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/appeal/decision", `{"granted":true,"reason":"The passport settles it."}`, dave, nil)
	ctx := context.Background()
	if err := s.temporal.GetWorkflow(ctx, workflows.AppealWorkflowID(req.ID), "").Get(ctx, nil); err != nil {
		t.Fatalf("the appeal's workflow did not close: %v", err)
	}

	var original api.StaffView
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+req.ID, "", erin, &original)
	if original.Appeal == nil || original.Appeal.FollowUpID == "" || original.Appeal.FollowUpID == req.ID {
		t.Fatalf("the granted appeal = %+v, want it to name the request it opened", original.Appeal)
	}
	followUp := original.Appeal.FollowUpID
	v := s.awaitStaffStatus(followUp, erin, domain.StatusPendingReview)
	r := v.Request
	if r.Type != original.Request.Type || r.Jurisdiction != domain.JurisdictionVCDPA || string(r.Details) != string(original.Request.Details) ||
		r.EmailHash != original.Request.EmailHash || r.OpenedBy != "dave" {
		t.Errorf("follow-up = %+v, want the original's type, details and person, opened by dave", r)
	}

	approve := "/api/v1/admin/requests/" + followUp + "/approve"
	if a := s.do(http.MethodPost, approve, `{"reason":"identity checked against the passport"}`, dave); a.code != http.StatusConflict {
		t.Errorf("approval by the staff member who granted the appeal = %d %s, want 409", a.code, a.body)
	}
	s.must(http.StatusOK, http.MethodPost, approve, `{"reason":"identity checked against the passport"}`, erin, nil)

	m := s.mailTo("gus@example.com", "Decision on your appeal")
	if !strings.Contains(m.Text, "We have opened a new request, "+followUp) || !strings.Contains(m.Text, "/requests/"+followUp+"?k=") {
		t.Errorf("the decision mail does not point to the new request:\n%s", m.Text)
	}
	page := s.send(http.MethodGet, "/requests/"+req.ID, "", "", http.Header{"Cookie": {"dsr_status=" + req.StatusToken}})
	if !strings.Contains(page.body, `id="appeal-follow-up"`) || !strings.Contains(page.body, "/requests/"+followUp+"?k=") {
		t.Errorf("the original's status page does not link to the new request:\n%s", page.body)
	}
	var list api.AppealList
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/appeals?status=granted", "", erin, &list)
	if len(list.Appeals) != 1 || list.Appeals[0].FollowUpID != followUp {
		t.Errorf("granted appeals = %+v, want this one naming its follow-up", list.Appeals)
	}
	if f := os.Getenv("RECORD_TO"); f != "" {
		recordHistory(t, s, workflows.AppealWorkflowID(req.ID), f)
	}
}
