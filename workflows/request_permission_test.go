package workflows_test

import (
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/workflows"
)

func accept(actor workflows.Actor) workflows.PermissionInput {
	return workflows.PermissionInput{Actor: actor, Reason: "signed and dated"}
}

func TestAgentRequestWaitsForStaffToAcceptThePermissionAfterThePersonConfirms(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.in.ReviewPermission = true
	early := h.at(30*time.Second, workflows.UpdateAcceptPermission, accept(analyst))
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	approve := h.at(time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst})
	var waiting workflows.RequestState
	h.env.RegisterDelayedCallback(func() { waiting = h.state() }, 2*time.Hour)
	ok := h.at(3*time.Hour, workflows.UpdateAcceptPermission, accept(analyst))
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if early.rejected == nil {
		t.Error("the permission was accepted before the person confirmed")
	}
	if approve.rejected == nil {
		t.Error("an approval was taken while the permission waited for review")
	}
	if waiting.Status != domain.StatusPendingReview || !waiting.PermissionPending {
		t.Errorf("while waiting: status %s, permission pending %v", waiting.Status, waiting.PermissionPending)
	}
	if ok.rejected != nil || ok.err != nil {
		t.Fatalf("accept: %v %v", ok.rejected, ok.err)
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindCompletion)
}

func TestRefusedPermissionDeniesTheRequestWithTheReason(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.in.ReviewPermission = true
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	noReason := h.at(time.Hour, workflows.UpdateRefusePermission, workflows.PermissionInput{Actor: analyst})
	h.at(2*time.Hour, workflows.UpdateRefusePermission, workflows.PermissionInput{Actor: analyst, Reason: "the permission is not signed"})
	st := h.run()
	wantStatus(t, st, domain.StatusDenied)
	if noReason.rejected == nil {
		t.Error("a refusal without a reason was taken")
	}
	if st.StatusReason != "the permission is not signed" {
		t.Errorf("reason = %q", st.StatusReason)
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindDenial)
}

func TestPlainRequestIsNotOfferedThePermissionActions(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	refuse := h.at(time.Hour, workflows.UpdateAcceptPermission, accept(analyst))
	h.at(2*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst})
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if refuse.rejected == nil {
		t.Error("a request no agent made took a permission decision")
	}
}

func TestAgentIsToldWhenThePersonNeverConfirms(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.in.ReviewPermission = true
	st := h.run()
	wantStatus(t, st, domain.StatusExpired)
	wantNotices(t, h, mail.KindReminder, mail.KindAgentOutcome)
}

func TestAgentIsToldWhenStaffCancelTheRequest(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.in.ReviewPermission = true
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: analyst, Reason: "the person withdrew it"})
	st := h.run()
	wantStatus(t, st, domain.StatusCancelled)
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindAgentOutcome)
}
