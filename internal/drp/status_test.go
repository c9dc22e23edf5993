package drp_test

import (
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/drp"
)

// TestEveryDSRStatusMapsToTheProtocolsStates is the table of section 3.02 as dsr reads it:
// each of dsr's statuses, and the facts that refine denials and cancellations.
func TestEveryDSRStatusMapsToTheProtocolsStates(t *testing.T) {
	cases := []struct {
		name        string
		facts       drp.Facts
		state       drp.State
		reason      drp.Reason
		wantDetails string
	}{
		{"received", drp.Facts{Status: domain.StatusReceived}, drp.StateOpen, "", ""},
		{"awaiting mailbox", drp.Facts{Status: domain.StatusAwaitingEmailVerification}, drp.StateInProgress, drp.ReasonNeedUserVerification, "*"},
		{"awaiting identity", drp.Facts{Status: domain.StatusAwaitingIdentityVerification}, drp.StateInProgress, drp.ReasonNeedUserVerification, "*"},
		{"pending review", drp.Facts{Status: domain.StatusPendingReview}, drp.StateInProgress, "", "*"},
		{"in progress", drp.Facts{Status: domain.StatusInProgress}, drp.StateInProgress, "", ""},
		{"extended", drp.Facts{Status: domain.StatusInProgress, ExtensionReason: "many systems"}, drp.StateInProgress, "", "many systems"},
		{"extended while the person must act", drp.Facts{Status: domain.StatusAwaitingIdentityVerification, ExtensionReason: "many systems"}, drp.StateInProgress, drp.ReasonNeedUserVerification, "many systems"},
		{"manual tasks", drp.Facts{Status: domain.StatusAwaitingManualTasks}, drp.StateInProgress, "", ""},
		{"needs attention", drp.Facts{Status: domain.StatusNeedsAttention}, drp.StateInProgress, "", ""},
		{"completed", drp.Facts{Status: domain.StatusCompleted}, drp.StateFulfilled, "", ""},
		{"expired unverified", drp.Facts{Status: domain.StatusExpired}, drp.StateDenied, drp.ReasonInsufVerification, "*"},
		{"denied by dsr: data points did not match", drp.Facts{Status: domain.StatusDenied, EndedBySystem: true, StatusReason: "we could not verify"}, drp.StateDenied, drp.ReasonInsufVerification, "*"},
		{"denied by staff, no code", drp.Facts{Status: domain.StatusDenied, StatusReason: "we cannot help"}, drp.StateDenied, drp.ReasonOther, "we cannot help"},
		{"denied by staff: no_match", drp.Facts{Status: domain.StatusDenied, StatusReason: "no_match: no account under this address"}, drp.StateDenied, drp.ReasonNoMatch, "no account under this address"},
		{"denied by staff: outside_jurisdiction", drp.Facts{Status: domain.StatusDenied, StatusReason: "outside_jurisdiction: California residents only"}, drp.StateDenied, drp.ReasonOutsideJurisdiction, "California residents only"},
		{"denied by staff: too_many_requests", drp.Facts{Status: domain.StatusDenied, StatusReason: "too_many_requests: third this year"}, drp.StateDenied, drp.ReasonTooManyRequests, "third this year"},
		{"denied by staff: suspected_fraud", drp.Facts{Status: domain.StatusDenied, StatusReason: "suspected_fraud: signed by a stolen key"}, drp.StateDenied, drp.ReasonSuspectedFraud, "signed by a stolen key"},
		{"denied by staff: claim_not_covered", drp.Facts{Status: domain.StatusDenied, StatusReason: "claim_not_covered: not personal data"}, drp.StateDenied, drp.ReasonClaimNotCovered, "not personal data"},
		{"denied by staff: insuf_verification", drp.Facts{Status: domain.StatusDenied, StatusReason: "insuf_verification: the documents did not match"}, drp.StateDenied, drp.ReasonInsufVerification, "the documents did not match"},
		{"revoked by the agent", drp.Facts{Status: domain.StatusCancelled, Revoked: true, StatusReason: "changed my mind"}, drp.StateRevoked, "", ""},
		{"joined an open duplicate", drp.Facts{Status: domain.StatusCancelled, Joined: true}, drp.StateDenied, drp.ReasonTooManyRequests, "*"},
		{"cancelled by staff", drp.Facts{Status: domain.StatusCancelled, StatusReason: "opened by mistake"}, drp.StateDenied, drp.ReasonOther, "opened by mistake"},
	}
	seen := map[domain.Status]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			state, reason, details := drp.MapStatus(c.facts)
			if state != c.state || reason != c.reason {
				t.Errorf("MapStatus = %s/%s, want %s/%s", state, reason, c.state, c.reason)
			}
			switch {
			case c.wantDetails == "*" && details == "":
				t.Error("no processing details, want some")
			case c.wantDetails != "*" && details != c.wantDetails:
				t.Errorf("processing details = %q, want %q", details, c.wantDetails)
			}
		})
		seen[c.facts.Status] = true
	}
	for _, s := range []domain.Status{
		domain.StatusReceived, domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification,
		domain.StatusPendingReview, domain.StatusInProgress, domain.StatusAwaitingManualTasks, domain.StatusNeedsAttention,
		domain.StatusCompleted, domain.StatusDenied, domain.StatusCancelled, domain.StatusExpired,
	} {
		if _, err := domain.ParseStatus(string(s)); err != nil || !seen[s] {
			t.Errorf("status %s is not in the table's test", s)
		}
	}
}

func TestSupportedActionsLeaveOutWhatDSRCannotDo(t *testing.T) {
	got := drp.SupportedActions()
	want := []string{drp.ActionSaleOptOut, drp.ActionDeletion, drp.ActionAccess, drp.ActionAccessCategories, drp.ActionAccessSpecific}
	if len(got) != len(want) {
		t.Fatalf("SupportedActions = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("SupportedActions = %v, want %v", got, want)
		}
	}
}
