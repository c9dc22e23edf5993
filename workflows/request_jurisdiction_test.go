package workflows_test

import (
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// The workflow extends by the rule intake copied into its input, not by code of its own.
func TestExtensionFollowsTheRuleCarriedInTheInput(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	table := domain.BuiltinJurisdictions()
	h.in.Jurisdiction = domain.JurisdictionCPA
	h.in.DueAt = table.For(domain.JurisdictionCPA, domain.DeadlinePolicy{}).DueDate(start)
	h.in.Deadline = table.Policy(domain.JurisdictionCPA, start, domain.DeadlinePolicy{})
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateExtend, workflows.ExtendInput{Actor: analyst, Reason: "many systems to search"})
	h.at(2*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	st := h.run()
	if want := start.AddDate(0, 0, 90); !st.DueAt.Equal(want) {
		t.Errorf("due %s after the extension, want %s (45 + 45 days, C.R.S. 6-1-1306)", st.DueAt, want)
	}
}
