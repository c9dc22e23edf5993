package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// actions lists the audit steps' actions in order, each with its details.
func (h *harness) actions() [][]string {
	var out [][]string
	for _, s := range h.steps {
		out = append(out, append([]string{s.Action}, s.Details...))
	}
	return out
}

func indexOf(steps [][]string, action string) int {
	return slices.IndexFunc(steps, func(s []string) bool { return s[0] == action })
}

func planned(steps [][]string) [][]string {
	var out [][]string
	for _, s := range steps {
		if s[0] == "store_planned" {
			out = append(out, s)
		}
	}
	return out
}

func TestARequestThatWaitsForApprovalIsPlannedBeforeTheWaitAndOnce(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(48*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: "looks right"})
	wantStatus(t, h.run(), domain.StatusCompleted)
	steps := h.actions()
	want := [][]string{{"store_planned", "crm", "sha256:plan-of-crm"}, {"store_planned", "shop", "sha256:plan-of-shop"}}
	if got := planned(steps); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("plan steps = %v, want %v", got, want)
	}
	if last := slices.IndexFunc(steps, func(s []string) bool { return s[0] == "store_planned" && s[1] == "shop" }); last > indexOf(steps, "review_started") {
		t.Errorf("steps = %v, want the plans recorded before the review starts", steps)
	}
}

func TestARequestWithoutApprovalRecordsItsPlansAfterTheFanOut(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	wantStatus(t, h.run(), domain.StatusCompleted)
	steps := h.actions()
	if got := planned(steps); len(got) != 2 || indexOf(steps, "store_planned") < indexOf(steps, "processing_started") ||
		indexOf(steps, "store_planned") > indexOf(steps, "completed") {
		t.Errorf("steps = %v, want two plans recorded between the fan-out and completion", steps)
	}
}

func TestAReviewIsNotPlanned(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	h.matched = 2
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(2*time.Minute, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "x"}})
	wantStatus(t, h.run(), domain.StatusCompleted)
	if got := planned(h.actions()); len(got) > 0 {
		t.Errorf("a review recorded plans: %v", got)
	}
}
