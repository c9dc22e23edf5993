package workflows

import (
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// The mailbox stage: a code goes to the address and the requester types it back.

// Update names of the mailbox stage.
const (
	UpdateVerifyEmail = "verify-email"
	UpdateResendCode  = "resend-code"
)

// VerifyEmailInput carries the code the requester typed.
type VerifyEmailInput struct {
	Code string `json:"code"`
}

// VerifyEmailResult says what became of a code.
type VerifyEmailResult struct {
	Result       domain.CheckResult `json:"result"`
	AttemptsLeft int                `json:"attempts_left"`
}

// ResendCodeResult says when the new code expires.
type ResendCodeResult struct {
	ExpiresAt time.Time `json:"expires_at"`
}

func (r *request) verificationUpdates() []update {
	return []update{
		{UpdateVerifyEmail, r.verifyEmailCode, r.validateVerifyEmail},
		{UpdateResendCode, r.resendCode, r.validateResendCode},
	}
}

// verifyEmail mails a code and waits until the requester confirms one, asks for another,
// cancels, or lets the window close. It reports whether the request ended.
func (r *request) verifyEmail(ctx workflow.Context) (bool, error) {
	if err := r.setStatus(ctx, domain.StatusAwaitingEmailVerification, "email_verification_started", system); err != nil {
		return true, err
	}
	if err := r.issueCode(ctx); err != nil {
		return true, err
	}
	closesAt := r.in.ReceivedAt.Add(r.in.Verification.Window)
	remindAt := r.in.ReceivedAt.Add(r.in.Verification.ReminderAfter)
	reminded := false
	for {
		next := closesAt
		if !reminded && remindAt.Before(next) {
			next = remindAt
		}
		verified, err := r.wait(ctx, next, func() bool { return r.state.EmailVerified })
		if err != nil {
			return true, err
		}
		if verified {
			return false, r.record(ctx, "email_verified", Actor{Role: domain.RoleRequester}, nil, nil)
		}
		if ended, err := r.interrupted(ctx); ended || err != nil {
			return true, err
		}
		now := workflow.Now(ctx)
		if !now.Before(closesAt) {
			return true, r.finish(ctx, domain.StatusExpired, "expired", system, "the e-mail address was not confirmed in time")
		}
		if !reminded && !now.Before(remindAt) {
			reminded = true
			if err := r.notify(ctx, mail.KindReminder, mail.Reminder{ExpiresAt: closesAt}); err != nil {
				return true, err
			}
		}
	}
}

// issueCode has an activity derive and mail the next code; only its salted hash comes back.
func (r *request) issueCode(ctx workflow.Context) error {
	n := r.state.CodesIssued + 1
	// The mail may arrive before the activity reports back; until then a verification waits,
	// so the new code is never checked against the old challenge.
	r.issuing = true
	defer func() { r.issuing = false }()
	var out activities.IssueCodeResult
	err := r.execute(ctx, a.IssueCode, activities.IssueCodeInput{
		RequestID: r.in.RequestID, Number: n, Digits: r.in.Verification.CodeDigits,
		ValidMinutes: int(r.in.Verification.CodeLife / time.Minute),
	}).Get(ctx, &out)
	if err != nil {
		return err
	}
	now := workflow.Now(ctx)
	r.state.CodesIssued = n
	r.challenge = domain.CodeChallenge{
		Hash: out.Hash, Salt: out.Salt, IssuedAt: now, ExpiresAt: now.Add(r.in.Verification.CodeLife),
		MaxAttempts: r.in.Verification.MaxAttempts,
	}
	r.state.CodeExpiresAt = r.challenge.ExpiresAt
	r.state.CodeAttemptsLeft = r.in.Verification.MaxAttempts
	return r.record(ctx, "code_sent", system, nil, nil)
}

// joinDuplicate makes a second open request of the same type from the same address join
// the first instead of changing the stores twice. It reports whether this request ended.
func (r *request) joinDuplicate(ctx workflow.Context) (bool, error) {
	var out activities.ClaimResult
	if err := r.execute(ctx, a.ClaimRequest, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, &out); err != nil {
		return true, err
	}
	if out.Holder == r.in.RequestID {
		return false, nil
	}
	r.state.JoinedTo = out.Holder
	now := workflow.Now(ctx)
	reason := "joined an open request of the same type from the same address"
	s := domain.StatusCancelled
	if err := r.record(ctx, "joined_duplicate", system, &s, &activities.StepChange{JoinedTo: &out.Holder, StatusReason: &reason, CompletedAt: &now}, out.Holder); err != nil {
		return true, err
	}
	return true, r.tellAgentJoined(ctx)
}

var codePattern = regexp.MustCompile(`^[0-9]{6,8}$`)

func (r *request) validateVerifyEmail(in VerifyEmailInput) error {
	if err := r.requireStatus(domain.StatusAwaitingEmailVerification); err != nil {
		return err
	}
	if !codePattern.MatchString(in.Code) {
		return refusal(RefusalCodeFormat, "the code is 6 to 8 digits")
	}
	return nil
}

func (r *request) verifyEmailCode(ctx workflow.Context, in VerifyEmailInput) (VerifyEmailResult, error) {
	if err := workflow.Await(ctx, func() bool { return !r.issuing }); err != nil {
		return VerifyEmailResult{}, err
	}
	var result domain.CheckResult
	r.challenge, result = r.challenge.Check(in.Code, workflow.Now(ctx))
	left := max(r.challenge.MaxAttempts-r.challenge.Attempts, 0)
	if result == domain.CheckLocked {
		left = 0
	}
	r.state.CodeAttemptsLeft = left
	if err := r.record(ctx, "code_checked", Actor{Role: domain.RoleRequester}, nil, nil, string(result)); err != nil {
		return VerifyEmailResult{}, err
	}
	if result == domain.CheckConfirmed {
		r.state.EmailVerified = true
	}
	return VerifyEmailResult{Result: result, AttemptsLeft: left}, nil
}

func (r *request) validateResendCode(ctx workflow.Context) error {
	if err := r.requireStatus(domain.StatusAwaitingEmailVerification); err != nil {
		return err
	}
	if !domain.CanResend(r.challenge.IssuedAt, workflow.Now(ctx), r.in.Verification.ResendCooldown) {
		return refusal(RefusalResendTooSoon, fmt.Sprintf("a new code can be sent %s after the last one", r.in.Verification.ResendCooldown))
	}
	return nil
}

func (r *request) resendCode(ctx workflow.Context) (ResendCodeResult, error) {
	if err := r.issueCode(ctx); err != nil {
		return ResendCodeResult{}, err
	}
	return ResendCodeResult{ExpiresAt: r.challenge.ExpiresAt}, nil
}
