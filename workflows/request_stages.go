package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

var system = Actor{Role: domain.RoleSystem}

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
	err := execute(ctx, a.IssueCode, activities.IssueCodeInput{
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
	if err := execute(ctx, a.ClaimRequest, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, &out); err != nil {
		return true, err
	}
	if out.Holder == r.in.RequestID {
		return false, nil
	}
	r.state.JoinedTo = out.Holder
	now := workflow.Now(ctx)
	reason := "joined an open request of the same type from the same address"
	s := domain.StatusCancelled
	return true, r.record(ctx, "joined_duplicate", system, &s, &activities.StepChange{JoinedTo: &out.Holder, StatusReason: &reason, CompletedAt: &now}, out.Holder)
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

// storeRetry bounds one system's automatic retries; past them a person decides.
var storeRetry = &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5}

// process fans out to every system in parallel. A failing system never fails the others:
// the request waits in needs_attention until staff retry that system or end the request.
func (r *request) process(ctx workflow.Context) error {
	if err := r.setStatus(ctx, domain.StatusInProgress, "processing_started", system); err != nil {
		return err
	}
	var stores []string
	if err := execute(ctx, a.ListStores, activities.ListStoresInput{RequestID: r.in.RequestID}).Get(ctx, &stores); err != nil {
		return err
	}
	for _, s := range stores {
		r.state.Stores = append(r.state.Stores, StoreOutcome{Store: s})
	}
	pending := stores
	for {
		r.runStores(ctx, pending)
		if err := r.awaitLateResults(ctx); err != nil {
			return err
		}
		if ended, err := r.interrupted(ctx); ended || err != nil {
			return err
		}
		failed := r.failedStores()
		if len(failed) == 0 {
			break
		}
		s := domain.StatusNeedsAttention
		if err := r.record(ctx, "stores_failed", system, &s, &activities.StepChange{FailedStores: r.storeErrors()}, failed...); err != nil {
			return err
		}
		r.retryStores = nil
		if _, err := r.wait(ctx, time.Time{}, func() bool { return len(r.retryStores) > 0 }); err != nil {
			return err
		}
		if ended, err := r.interrupted(ctx); ended || err != nil {
			return err
		}
		pending = r.retryStores
		if err := r.setStatus(ctx, domain.StatusInProgress, "stores_retried", system); err != nil {
			return err
		}
	}
	return r.complete(ctx)
}

func (r *request) runStores(ctx workflow.Context, stores []string) {
	storeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute, RetryPolicy: storeRetry,
	})
	futures := make(map[string]workflow.Future, len(stores))
	for _, s := range stores {
		futures[s] = workflow.ExecuteActivity(storeCtx, a.RunStore, activities.RunStoreInput{RequestID: r.in.RequestID, Store: s})
	}
	for _, s := range stores {
		i := slices.IndexFunc(r.state.Stores, func(o StoreOutcome) bool { return o.Store == s })
		var out activities.RunStoreResult
		err := futures[s].Get(ctx, &out)
		switch {
		case r.state.Stores[i].Done:
			// A callback delivered the result before the activity reported back.
		case err != nil:
			r.state.Stores[i].Error = storeError(err)
		case out.Pending:
			r.state.Stores[i] = StoreOutcome{Store: s, Pending: true}
		default:
			r.state.Stores[i] = StoreOutcome{Store: s, Done: true, Result: out.Result}
		}
	}
}

func (r *request) failedStores() []string {
	var failed []string
	for _, o := range r.state.Stores {
		if !o.Done {
			failed = append(failed, o.Store)
		}
	}
	return failed
}

// storeErrors maps each system that is not done to what went wrong, for the row.
func (r *request) storeErrors() map[string]string {
	out := map[string]string{}
	for _, o := range r.state.Stores {
		if !o.Done {
			out[o.Store] = o.Error
		}
	}
	return out
}

func (r *request) pendingStores() bool {
	return slices.ContainsFunc(r.state.Stores, func(o StoreOutcome) bool { return o.Pending })
}

// awaitLateResults waits, in awaiting_manual_tasks, for the stores that answer later:
// services calling back and people completing tasks. One that has not answered within
// StoreAnswerWindow fails, so staff see it.
func (r *request) awaitLateResults(ctx workflow.Context) error {
	if !r.pendingStores() {
		return nil
	}
	if err := r.setStatus(ctx, domain.StatusAwaitingManualTasks, "awaiting_store_answers", system); err != nil {
		return err
	}
	closesAt := workflow.Now(ctx).Add(StoreAnswerWindow)
	if _, err := r.wait(ctx, closesAt, func() bool { return !r.pendingStores() }); err != nil {
		return err
	}
	for i, o := range r.state.Stores {
		if o.Pending {
			r.state.Stores[i] = StoreOutcome{Store: o.Store, Error: "no answer within 14 days"}
		}
	}
	if r.cancelled != nil || r.denied != nil {
		return nil
	}
	return r.setStatus(ctx, domain.StatusInProgress, "store_answers_in", system)
}

// complete records the outcome and tells the requester what was found, changed and kept.
func (r *request) complete(ctx workflow.Context) error {
	var done mail.Completion
	done.RequestType = string(r.in.Type)
	if err := r.notifyRecipients(ctx); err != nil {
		return err
	}
	for _, n := range r.state.Recipients {
		done.RecipientsTold = append(done.RecipientsTold, n.Name)
	}
	for _, o := range r.state.Stores {
		done.Found = append(done.Found, o.Result.Found...)
		done.Changed = append(done.Changed, o.Result.Changed...)
		for _, k := range o.Result.Retained {
			done.Retained = append(done.Retained, mail.Retained{What: k.What, Reason: k.Reason, Until: k.Until})
		}
	}
	// An erasure is complete once its kept records have purge timers and the address is on
	// the suppression list.
	if r.in.Type == domain.TypeSuppress || r.in.Type == domain.TypeChildErasure {
		if err := r.schedulePurges(ctx); err != nil {
			return err
		}
		if workflow.GetVersion(ctx, "suppression-list", workflow.DefaultVersion, 1) == 1 {
			if err := execute(ctx, a.AddToSuppressionList, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	// The outcome itself is read from the store results the store activities saved.
	now := workflow.Now(ctx)
	s := domain.StatusCompleted
	if err := r.record(ctx, "completed", system, &s, &activities.StepChange{CompletedAt: &now}); err != nil {
		return err
	}
	if r.in.OpenedBy == "" {
		if err := r.notify(ctx, mail.KindCompletion, done); err != nil {
			return err
		}
	}
	return execute(ctx, a.ReleaseClaim, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, nil)
}

// storeError is what staff see of a failing system: the connector's message, which by
// contract names no person, without Temporal's wrapping.
func storeError(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out"
	}
	return err.Error()
}

// notifyRecipients passes a correction, erasure or restriction on to everyone the changed
// stores shared the person's data with (GDPR Art. 19), and records who was told.
func (r *request) notifyRecipients(ctx workflow.Context) error {
	if r.in.Type == domain.TypeReview || workflow.GetVersion(ctx, "recipient-notices", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	var held []string
	for _, o := range r.state.Stores {
		if o.Done && !o.Result.NotFound {
			held = append(held, o.Store)
		}
	}
	if len(held) == 0 {
		return nil
	}
	var out []activities.RecipientNotice
	if err := execute(ctx, a.NotifyRecipients, activities.NotifyRecipientsInput{RequestID: r.in.RequestID, Stores: held}).Get(ctx, &out); err != nil {
		return err
	}
	r.state.Recipients = out
	if len(out) == 0 {
		return nil
	}
	var told []string
	for _, n := range out {
		told = append(told, n.Name+" ("+n.Channel+": "+n.Status+")")
	}
	return r.record(ctx, "recipients_notified", system, nil, nil, told...)
}
