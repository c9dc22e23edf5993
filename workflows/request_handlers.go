package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// maxTextLength bounds reasons and notes; they land in the audit log and in mail.
const maxTextLength = 2000

var codePattern = regexp.MustCompile(`^[0-9]{6,8}$`)

func (r *request) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (RequestState, error) { return r.state, nil }); err != nil {
		return err
	}
	handlers := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateVerifyEmail, r.verifyEmailCode, r.validateVerifyEmail},
		{UpdateResendCode, r.resendCode, r.validateResendCode},
		{UpdateSubmitIdentity, r.submitIdentity, r.validateSubmitIdentity},
		{UpdateApprove, r.approve, r.validateApprove},
		{UpdateDeny, r.deny, r.validateDeny},
		{UpdateVerifyIdentity, r.verifyIdentityManually, r.validateVerifyIdentity},
		{UpdateExtend, r.extend, r.validateExtend},
		{UpdateCancel, r.cancel, r.validateCancel},
		{UpdateRetryStore, r.retryStore, r.validateRetryStore},
		{UpdateAddNote, r.addNote, r.validateAddNote},
		{UpdateAssign, r.assign, r.validateAssign},
		{UpdateStoreResult, r.storeResult, r.validateStoreResult},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return err
		}
	}
	return nil
}

var (
	errTerminal = errors.New("the request is closed")
	errBusy     = errors.New("the request is being processed; wait until it needs attention")
)

func (r *request) requireStatus(allowed ...domain.Status) error {
	if r.state.Status.Terminal() || r.cancelled != nil || r.denied != nil {
		return errTerminal
	}
	if !slices.Contains(allowed, r.state.Status) {
		return fmt.Errorf("not possible while the request is %s", r.state.Status)
	}
	return nil
}

func requireStaff(actor Actor) error {
	if !actor.Role.Staff() {
		return errors.New("only an analyst or admin may do this")
	}
	if actor.Name == "" {
		return errors.New("the acting staff member must be named")
	}
	return nil
}

func requireText(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("a %s is required", what)
	}
	if len(s) > maxTextLength {
		return fmt.Errorf("the %s is longer than %d characters", what, maxTextLength)
	}
	return nil
}

func (r *request) validateVerifyEmail(in VerifyEmailInput) error {
	if err := r.requireStatus(domain.StatusAwaitingEmailVerification); err != nil {
		return err
	}
	if !codePattern.MatchString(in.Code) {
		return errors.New("the code is 6 to 8 digits")
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
		return fmt.Errorf("a new code can be sent %s after the last one", r.in.Verification.ResendCooldown)
	}
	return nil
}

func (r *request) resendCode(ctx workflow.Context) (ResendCodeResult, error) {
	if err := r.issueCode(ctx); err != nil {
		return ResendCodeResult{}, err
	}
	return ResendCodeResult{ExpiresAt: r.challenge.ExpiresAt}, nil
}

func (r *request) validateSubmitIdentity(in SubmitIdentityInput) error {
	if err := r.requireStatus(domain.StatusAwaitingIdentityVerification); err != nil {
		return err
	}
	if r.state.IdentityAttempts <= 0 {
		return errors.New("no attempts left; an analyst will review the request")
	}
	if len(in.Answers) == 0 || len(in.Answers) > 10 {
		return errors.New("give between 1 and 10 data points")
	}
	for k, v := range in.Answers {
		if len(k) > 64 || len(v) > 200 {
			return errors.New("a data point is too long")
		}
	}
	return nil
}

func (r *request) submitIdentity(ctx workflow.Context, in SubmitIdentityInput) (SubmitIdentityResult, error) {
	var out activities.CheckIdentityResult
	err := execute(ctx, a.CheckIdentity, activities.CheckIdentityInput{RequestID: r.in.RequestID, Answers: in.Answers}).Get(ctx, &out)
	if err != nil {
		return SubmitIdentityResult{}, err
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

func (r *request) validateApprove(in ApproveInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := r.requireStatus(domain.StatusPendingReview); err != nil {
		return err
	}
	if r.in.OpenedBy != "" && in.Actor.Name == r.in.OpenedBy {
		return errors.New("a second staff member must approve a request that staff opened")
	}
	return nil
}

func (r *request) approve(ctx workflow.Context, in ApproveInput) error {
	r.state.Approved, r.state.ApprovedBy = true, in.Actor.Name
	return r.record(ctx, "approved", in.Actor, nil, nil, in.Reason)
}

func (r *request) validateDeny(in DenyInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	return r.requireStatus(domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification, domain.StatusPendingReview, domain.StatusNeedsAttention)
}

func (r *request) deny(_ workflow.Context, in DenyInput) error {
	r.denied = &ending{actor: in.Actor, reason: in.Reason}
	return nil
}

func (r *request) validateVerifyIdentity(in VerifyIdentityInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	return r.requireStatus(domain.StatusAwaitingIdentityVerification, domain.StatusPendingReview)
}

// verifyIdentityManually records an analyst's verification. In pending_review it also
// settles identity, but the request still needs its approval to proceed.
func (r *request) verifyIdentityManually(ctx workflow.Context, in VerifyIdentityInput) error {
	r.state.IdentityMethod = "analyst"
	r.state.IdentityVerified = true
	return r.record(ctx, "identity_verified", in.Actor, nil, nil, in.Reason)
}

func (r *request) validateExtend(ctx workflow.Context, in ExtendInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	if r.state.Status.Terminal() {
		return errTerminal
	}
	if r.state.Extended {
		return errors.New("the request has already been extended once")
	}
	if !workflow.Now(ctx).Before(r.state.OriginalDueAt) {
		return errors.New("an extension must be given before the original due date")
	}
	return nil
}

func (r *request) extend(ctx workflow.Context, in ExtendInput) error {
	due := domain.ExtendedDueDate(r.in.Jurisdiction, r.state.OriginalDueAt, r.in.Deadline)
	now := workflow.Now(ctx)
	r.state.Extended, r.state.ExtensionReason, r.state.DueAt = true, in.Reason, due
	r.dueChanged = true
	if err := workflow.UpsertTypedSearchAttributes(ctx, DueDateKey.ValueSet(due)); err != nil {
		return err
	}
	change := &activities.StepChange{DueAt: &due, ExtendedAt: &now, ExtensionReason: &in.Reason}
	if err := r.record(ctx, "extended", in.Actor, nil, change, in.Reason); err != nil {
		return err
	}
	if r.in.OpenedBy != "" {
		return nil
	}
	return r.notify(ctx, mail.KindExtension, mail.Extension{NewDueDate: due, Reason: in.Reason})
}

func (r *request) validateCancel(in CancelInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	if r.state.Status == domain.StatusInProgress {
		return errBusy
	}
	return r.requireStatus(domain.StatusReceived, domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification,
		domain.StatusPendingReview, domain.StatusAwaitingManualTasks, domain.StatusNeedsAttention)
}

func (r *request) cancel(_ workflow.Context, in CancelInput) error {
	r.cancelled = &ending{actor: in.Actor, reason: in.Reason}
	return nil
}

func (r *request) validateRetryStore(in RetryStoreInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := r.requireStatus(domain.StatusNeedsAttention); err != nil {
		return err
	}
	if !slices.Contains(r.failedStores(), in.Store) {
		return errors.New("that store has not failed")
	}
	return nil
}

func (r *request) retryStore(ctx workflow.Context, in RetryStoreInput) error {
	if err := r.record(ctx, "store_retry_requested", in.Actor, nil, nil, in.Store); err != nil {
		return err
	}
	r.retryStores = append(r.retryStores, in.Store)
	return nil
}

func (r *request) validateAddNote(in AddNoteInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	return requireText("note", in.Text)
}

func (r *request) addNote(ctx workflow.Context, in AddNoteInput) error {
	r.state.Notes = append(r.state.Notes, Note{Author: in.Actor.Name, Text: in.Text, At: workflow.Now(ctx)})
	return r.record(ctx, "note_added", in.Actor, nil, nil, in.Text)
}

func (r *request) validateAssign(in AssignInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if len(in.Assignee) > 200 {
		return errors.New("the assignee name is too long")
	}
	if r.state.Status.Terminal() {
		return errTerminal
	}
	return nil
}

func (r *request) assign(ctx workflow.Context, in AssignInput) error {
	r.state.Assignee = in.Assignee
	return r.record(ctx, "assigned", in.Actor, nil, &activities.StepChange{Assignee: &in.Assignee}, in.Assignee)
}

func (r *request) validateStoreResult(in StoreResultInput) error {
	if err := r.requireStatus(domain.StatusInProgress, domain.StatusAwaitingManualTasks); err != nil {
		return err
	}
	if !slices.ContainsFunc(r.state.Stores, func(o StoreOutcome) bool { return o.Store == in.Store }) {
		return errors.New("the request does not use that store")
	}
	return nil
}

// storeResult takes a late result. A repeat for a store already done changes nothing, since
// services may call back more than once.
func (r *request) storeResult(ctx workflow.Context, in StoreResultInput) error {
	i := slices.IndexFunc(r.state.Stores, func(o StoreOutcome) bool { return o.Store == in.Store })
	if r.state.Stores[i].Done {
		return nil
	}
	var out activities.RunStoreResult
	err := execute(ctx, a.RecordStoreResult, activities.RecordStoreResultInput{RequestID: r.in.RequestID, Store: in.Store, Result: in.Result}).Get(ctx, &out)
	if err != nil {
		return err
	}
	if r.state.Stores[i].Done {
		return nil
	}
	r.state.Stores[i] = StoreOutcome{Store: in.Store, Done: true, Result: out.Result}
	return r.record(ctx, "store_answered", in.Actor, nil, nil, in.Store)
}
