package api_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/workflows"
)

// The status view of a completed request is read from the database, and says what the
// workflow itself recorded.
func TestStatusViewOfACompletedRequestEqualsWhatTheWorkflowRecorded(t *testing.T) {
	s := startStack(t)
	req := s.open(`{"type":"restrict","email":"grace@example.com","jurisdiction":"gdpr","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "grace@example.com")
	view, _ := s.awaitRequesterStatus(req, domain.StatusCompleted)

	value, err := s.temporal.QueryWorkflow(t.Context(), workflows.RequestID(req.ID), "", workflows.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.RequestState
	if err := value.Get(&st); err != nil {
		t.Fatal(err)
	}
	got := []any{view.Status, view.EmailVerified, view.CodeAttemptsLeft, view.IdentityRequirement, view.IdentityVerified, view.IdentityAttemptsLeft, view.Extended, view.DueDate.UTC()}
	want := []any{st.Status, st.EmailVerified, st.CodeAttemptsLeft, st.IdentityRequirement, st.IdentityVerified, st.IdentityAttempts, st.Extended, st.DueAt.UTC()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status view %v, workflow recorded %v", got, want)
	}
	var recorded []string
	for _, step := range st.Steps {
		recorded = append(recorded, step.Action+"→"+string(step.Status))
	}
	var shown []string
	for _, step := range view.Steps {
		shown = append(shown, step.Action+"→"+string(step.Status))
	}
	if !slices.Equal(shown, recorded) {
		t.Errorf("timeline %v, workflow recorded %v", shown, recorded)
	}
}

// With the workflow engine down, the requester's status answers from the database, and an
// intake says plainly that it could not be taken, so the requester tries again.
func TestStatusReadsAnswerFromTheDatabaseWhileTheEngineIsDownAndIntakeAnswers503(t *testing.T) {
	s := startStack(t)
	req := s.open(`{"type":"restrict","email":"hedy@example.com","jurisdiction":"gdpr","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "hedy@example.com")
	before, _ := s.awaitRequesterStatus(req, domain.StatusCompleted)

	s.stopEngine()

	var after api.RequesterView
	s.must(http.StatusOK, http.MethodGet, "/api/v1/requests/"+req.ID, "", req.StatusToken, &after)
	if after.Status != before.Status || len(after.Steps) != len(before.Steps) || !after.EmailVerified {
		t.Errorf("status with the engine down = %+v, want the last recorded %+v", after, before)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	page, err := browser.Get(s.base + "/requests/" + req.ID + "?" + links.LinkKeyParam + "=" + testSecret.StatusLinkKey(req.ID))
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Errorf("status page with the engine down = %d, want 200", page.StatusCode)
	}

	a := s.do(http.MethodPost, "/api/v1/requests", `{"type":"restrict","email":"ida@example.com","jurisdiction":"gdpr","details":{"limits":["marketing_email"]}}`, "")
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("intake with the engine down = %d %s, want 503 with Retry-After", a.code, a.body)
	}
	if body := a.errorBody(t); body.Code != "unavailable" || !strings.Contains(body.Message, "try again") {
		t.Errorf("intake refusal = %+v, want a message to try again", body)
	}
}
