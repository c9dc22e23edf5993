package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
)

// The identity stage: data points the requester gives, or a staff member's verification
// and approval.

// Update names of the identity stage.
const (
	UpdateSubmitIdentity = "submit-identity"
	UpdateVerifyIdentity = "verify-identity"
	UpdateApprove        = "approve"
	UpdateDeny           = "deny"
)

// SubmitIdentityInput carries data points such as postal_code, phone_last4, order_number.
type SubmitIdentityInput struct {
	Answers map[string]string `json:"answers"`
}

// SubmitIdentityResult says whether the answers verified the requester.
type SubmitIdentityResult struct {
	Verified     bool `json:"verified"`
	AttemptsLeft int  `json:"attempts_left"`
}

// VerifyIdentityInput records that a staff member verified the requester's identity.
type VerifyIdentityInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// ApproveInput lets a request in pending_review proceed.
type ApproveInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// DenyInput ends a request; the reason is mailed to the requester.
type DenyInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

func (r *request) identityUpdates() []update {
	return []update{
		{UpdateSubmitIdentity, r.submitIdentity, r.validateSubmitIdentity},
		{UpdateVerifyIdentity, r.verifyIdentityManually, r.validateVerifyIdentity},
		{UpdateApprove, r.approve, r.validateApprove},
		{UpdateDeny, r.deny, r.validateDeny},
	}
}

// verifyIdentity applies the identity policy: nothing more than the mailbox, matching data
// points or an analyst's verification, or an analyst's review. Staff-opened requests always
// need a second staff member's approval. It reports whether the request ended.
func (r *request) verifyIdentity(ctx workflow.Context) (bool, error) {
	rule := r.in.Identity
	if r.in.OpenedBy != "" {
		rule = domain.IdentityRule{Requirement: domain.IdentityAnalyst}
	}
	switch rule.Requirement {
	case domain.IdentityMailbox:
		r.state.IdentityVerified, r.state.IdentityMethod = true, "mailbox"
		return false, nil
	case domain.IdentityDataPoints:
		if err := r.setStatus(ctx, domain.StatusAwaitingIdentityVerification, "identity_verification_started", system); err != nil {
			return true, err
		}
		closesAt := workflow.Now(ctx).Add(r.in.Verification.Window)
		verified, err := r.wait(ctx, closesAt, func() bool { return r.state.IdentityVerified })
		if err != nil || verified {
			return err != nil, err
		}
		if ended, err := r.interrupted(ctx); ended || err != nil {
			return true, err
		}
		return true, r.finish(ctx, domain.StatusExpired, "expired", system, "identity was not verified in time")
	default:
		if err := r.planBeforeReview(ctx); err != nil {
			return true, err
		}
		if err := r.setStatus(ctx, domain.StatusPendingReview, "review_started", system); err != nil {
			return true, err
		}
		if _, err := r.wait(ctx, time.Time{}, func() bool { return r.state.Approved }); err != nil {
			return true, err
		}
		if ended, err := r.interrupted(ctx); ended || err != nil {
			return true, err
		}
		r.state.IdentityVerified = true
		if r.state.IdentityMethod == "" {
			r.state.IdentityMethod = "analyst"
		}
		return false, nil
	}
}

func (r *request) validateSubmitIdentity(in SubmitIdentityInput) error {
	if err := r.requireStatus(domain.StatusAwaitingIdentityVerification); err != nil {
		return err
	}
	if r.state.IdentityAttempts <= 0 {
		return refusal(RefusalNoAttempts, "no attempts left; an analyst will review the request")
	}
	if len(in.Answers) == 0 || len(in.Answers) > 10 {
		return refusal(RefusalDataPoints, "give between 1 and 10 data points")
	}
	for k, v := range in.Answers {
		if len(k) > 64 || len(v) > 200 {
			return refusal(RefusalDataPoints, "a data point is too long")
		}
	}
	return nil
}

// IdentityCheckTimeout bounds a data-point check, retries included, well inside the 30 s
// the API waits for an update (internal/requests updateTimeout). A check still retrying
// after the API answered 503 could succeed and use an attempt the requester was told had
// failed; bounded, the failure itself is the answer.
const IdentityCheckTimeout = 20 * time.Second

var identityCheckOptions = workflow.ActivityOptions{
	ScheduleToCloseTimeout: IdentityCheckTimeout,
	StartToCloseTimeout:    10 * time.Second,
	RetryPolicy:            activityOptions.RetryPolicy,
}

func (r *request) submitIdentity(ctx workflow.Context, in SubmitIdentityInput) (SubmitIdentityResult, error) {
	var out activities.CheckIdentityResult
	err := r.executeWith(ctx, identityCheckOptions, a.CheckIdentity, activities.CheckIdentityInput{RequestID: r.in.RequestID, Answers: in.Answers}).Get(ctx, &out)
	if err != nil {
		// A store that could not answer compared nothing: the attempt is not used, and the
		// requester is told to try again shortly. The cause stays out of the message.
		return SubmitIdentityResult{}, temporal.NewApplicationErrorWithCause(
			"the systems that check identities did not answer; try again shortly", ErrorUnavailable, err)
	}
	r.state.IdentityAttempts--
	r.state.DataPointsMatched = max(r.state.DataPointsMatched, out.Matched)
	verified := out.Matched >= r.in.Identity.DataPoints
	detail := fmt.Sprintf("%d of %d data points matched", out.Matched, r.in.Identity.DataPoints)
	if verified {
		r.state.IdentityVerified, r.state.IdentityMethod = true, "data_points"
	}
	if err := r.record(ctx, "identity_checked", Actor{Role: domain.RoleRequester}, nil, nil, detail); err != nil {
		return SubmitIdentityResult{}, err
	}
	switch {
	case verified:
	case r.state.IdentityAttempts == 0:
		r.denied = &ending{actor: system, reason: "we could not verify your identity with the information given"}
	}
	return SubmitIdentityResult{Verified: verified, AttemptsLeft: r.state.IdentityAttempts}, nil
}

func (r *request) validateVerifyIdentity(ctx workflow.Context, in VerifyIdentityInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateVerifyIdentity, in.Actor)
}

// verifyIdentityManually records an analyst's verification. In pending_review it also
// settles identity, but the request still needs its approval to proceed.
func (r *request) verifyIdentityManually(ctx workflow.Context, in VerifyIdentityInput) error {
	r.state.IdentityMethod = "analyst"
	r.state.IdentityVerified = true
	return r.record(ctx, "identity_verified", in.Actor, nil, nil, in.Reason)
}

func (r *request) validateApprove(ctx workflow.Context, in ApproveInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateApprove, in.Actor)
}

func (r *request) approve(ctx workflow.Context, in ApproveInput) error {
	r.state.Approved, r.state.ApprovedBy = true, in.Actor.Name
	return r.record(ctx, "approved", in.Actor, nil, nil, in.Reason)
}

func (r *request) validateDeny(ctx workflow.Context, in DenyInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateDeny, in.Actor)
}

func (r *request) deny(_ workflow.Context, in DenyInput) error {
	r.denied = &ending{actor: in.Actor, reason: in.Reason}
	return nil
}
