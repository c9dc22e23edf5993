package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// staffInput is a well-formed input of each staff update, so that only the request's state
// decides whether the workflow takes it.
func staffInput(update string, actor workflows.Actor, failed []string) any {
	switch update {
	case workflows.UpdateAcceptPermission, workflows.UpdateRefusePermission:
		return workflows.PermissionInput{Actor: actor, Reason: "signed by the person"}
	case workflows.UpdateApprove:
		return workflows.ApproveInput{Actor: actor, Reason: "checked"}
	case workflows.UpdateVerifyIdentity:
		return workflows.VerifyIdentityInput{Actor: actor, Reason: "passport seen"}
	case workflows.UpdateDeny:
		return workflows.DenyInput{Actor: actor, Reason: "not the account holder"}
	case workflows.UpdateExtend:
		return workflows.ExtendInput{Actor: actor, Reason: "many systems"}
	case workflows.UpdateCancel:
		return workflows.CancelInput{Actor: actor, Reason: "withdrawn"}
	case workflows.UpdateRetryStore:
		store := "shop"
		if len(failed) > 0 {
			store = failed[0]
		}
		return workflows.RetryStoreInput{Actor: actor, Store: store}
	case workflows.UpdateAddNote:
		return workflows.AddNoteInput{Actor: actor, Text: "called the requester"}
	case workflows.UpdateAssign:
		return workflows.AssignInput{Actor: actor, Assignee: "bob"}
	}
	panic("no input for " + update)
}

// factsOf is what a staff page knows of a request whose state is st, at now.
func factsOf(st workflows.RequestState, now time.Time) workflows.StaffFacts {
	f := workflows.StaffFacts{Status: st.Status, Extended: st.Extended, OriginalDueAt: st.OriginalDueAt, Now: now, OpenedBy: st.OpenedBy,
		PermissionPending: st.PermissionPending}
	for _, s := range st.Stores {
		if !s.Done {
			f.FailedStores = append(f.FailedStores, s.Store)
		}
	}
	return f
}

// For every status a request waits in, staff pages offer exactly the actions the
// workflow's validators accept: each action is sent to a request in that state, and the
// workflow's answer is compared with what StaffFacts.Offered listed.
func TestPagesOfferExactlyTheStaffActionsTheWorkflowTakes(t *testing.T) {
	verified := func(h *harness) { h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode)) }
	cases := []struct {
		name   string
		typ    domain.RequestType
		want   domain.Status
		actor  workflows.Actor
		probe  time.Duration
		before func(h *harness)
	}{
		{"awaiting e-mail verification", domain.TypeReview, domain.StatusAwaitingEmailVerification, analyst, 2 * time.Hour, func(*harness) {}},
		{"awaiting identity verification", domain.TypeReview, domain.StatusAwaitingIdentityVerification, analyst, 2 * time.Hour, verified},
		{"pending review", domain.TypeCorrect, domain.StatusPendingReview, analyst, 2 * time.Hour, verified},
		{"pending review, already extended", domain.TypeCorrect, domain.StatusPendingReview, analyst, 2 * time.Hour, func(h *harness) {
			verified(h)
			h.at(time.Hour, workflows.UpdateExtend, workflows.ExtendInput{Actor: analyst, Reason: "many systems"})
		}},
		{"pending review, past the original due date", domain.TypeCorrect, domain.StatusPendingReview, analyst, 32 * 24 * time.Hour, verified},
		{"pending review of a request the same person opened", domain.TypeChildErasure, domain.StatusPendingReview, analyst, 2 * time.Hour, func(h *harness) {
			h.in.OpenedBy, h.in.OpenedByID = "Ana", "tok-ana"
		}},
		{"pending review of a request another person opened", domain.TypeChildErasure, domain.StatusPendingReview, second, 2 * time.Hour, func(h *harness) {
			h.in.OpenedBy, h.in.OpenedByID = "Ana", "tok-ana"
		}},
		{"pending review of an agent's permission", domain.TypeRestrict, domain.StatusPendingReview, analyst, 2 * time.Hour, func(h *harness) {
			h.in.ReviewPermission = true
			verified(h)
		}},
		{"awaiting manual tasks", domain.TypeRestrict, domain.StatusAwaitingManualTasks, analyst, 2 * time.Hour, func(h *harness) {
			h.later["shop"] = true
			verified(h)
		}},
		{"needs attention", domain.TypeRestrict, domain.StatusNeedsAttention, analyst, 2 * time.Hour, func(h *harness) {
			h.storeFails["shop"] = 1
			verified(h)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var offered []string
			for _, update := range workflows.StaffUpdates {
				h := newHarness(t, tc.typ)
				tc.before(h)
				var seen workflows.RequestState
				h.env.RegisterDelayedCallback(func() { seen = h.state() }, tc.probe-time.Minute)
				var got *outcome
				h.env.RegisterDelayedCallback(func() {
					got = &outcome{}
					h.env.UpdateWorkflow(update, "", got, staffInput(update, tc.actor, factsOf(seen, h.env.Now()).FailedStores))
					if offered == nil {
						offered = factsOf(seen, h.env.Now()).Offered(tc.actor)
					}
				}, tc.probe)
				// Whatever the probe did, the request ends so that the run does.
				h.at(tc.probe+time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: second, Reason: "test over"})
				h.at(tc.probe+2*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: second, Reason: "test over"})
				h.env.ExecuteWorkflow(workflows.Request, h.in)
				if seen.Status != tc.want {
					t.Fatalf("status at the probe = %s, want %s", seen.Status, tc.want)
				}
				if got == nil || !got.done {
					t.Fatalf("%s: the workflow never answered", update)
				}
				if accepted, offers := got.rejected == nil, slices.Contains(offered, update); accepted != offers {
					t.Errorf("%s: workflow accepted=%v (refusal %v), page offers=%v", update, accepted, got.rejected, offers)
				}
			}
			t.Logf("offered: %v", offered)
		})
	}
}

// A closed request offers nothing, though a note would pass its validator: its workflow
// has ended and takes no update.
func TestClosedRequestOffersNoStaffAction(t *testing.T) {
	for _, s := range []domain.Status{domain.StatusCompleted, domain.StatusDenied, domain.StatusCancelled, domain.StatusExpired} {
		f := workflows.StaffFacts{Status: s, Now: start, OriginalDueAt: start.Add(time.Hour)}
		if got := f.Offered(analyst); len(got) != 0 {
			t.Errorf("%s offers %v, want nothing", s, got)
		}
	}
}
