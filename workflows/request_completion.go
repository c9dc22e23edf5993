package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// The end of a request: the outcome, the recipients told of it, and a terminal status.

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
		// A batched request lists the address with the completed step, below.
		if !r.batched && workflow.GetVersion(ctx, "suppression-list", workflow.DefaultVersion, 1) == 1 {
			if err := r.execute(ctx, a.AddToSuppressionList, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	// The outcome itself is read from the store results the store activities saved. A
	// batched request closes in the completed step's transaction.
	now := workflow.Now(ctx)
	s := domain.StatusCompleted
	change := &activities.StepChange{CompletedAt: &now}
	if r.batched {
		change.Suppress = r.in.Type == domain.TypeSuppress || r.in.Type == domain.TypeChildErasure
		change.ReleaseClaim = true
	}
	if err := r.record(ctx, "completed", system, &s, change); err != nil {
		return err
	}
	if r.in.OpenedBy == "" {
		if err := r.notify(ctx, mail.KindCompletion, done); err != nil {
			return err
		}
	}
	return r.releaseClaim(ctx)
}

// releaseClaim lets a later request of the same type from the same address run. A batched
// request released it with its closing step.
func (r *request) releaseClaim(ctx workflow.Context) error {
	if r.batched {
		return nil
	}
	return r.execute(ctx, a.ReleaseClaim, activities.ClaimInput{RequestID: r.in.RequestID}).Get(ctx, nil)
}

// notifyRecipients passes a correction, erasure or restriction on to everyone the changed
// stores shared the person's data with (GDPR Art. 19), and records who was told.
func (r *request) notifyRecipients(ctx workflow.Context) error {
	// A batched request came after recipient notices, so it need not ask.
	if r.in.Type == domain.TypeReview || (!r.batched && workflow.GetVersion(ctx, "recipient-notices", workflow.DefaultVersion, 1) == workflow.DefaultVersion) {
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
	if err := r.execute(ctx, a.NotifyRecipients, activities.NotifyRecipientsInput{RequestID: r.in.RequestID, Stores: held}).Get(ctx, &out); err != nil {
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

// finish moves the request to a terminal status, tells the requester where the law asks for
// it, and releases its duplicate claim.
func (r *request) finish(ctx workflow.Context, s domain.Status, action string, actor Actor, reason string) error {
	now := workflow.Now(ctx)
	r.state.StatusReason = reason
	change := &activities.StepChange{StatusReason: &reason, CompletedAt: &now, ReleaseClaim: r.batched}
	if r.state.JoinedTo != "" {
		change.JoinedTo = &r.state.JoinedTo
	}
	if err := r.record(ctx, action, actor, &s, change, reason); err != nil {
		return err
	}
	if s == domain.StatusDenied && r.in.OpenedBy == "" {
		if err := r.notify(ctx, mail.KindDenial, mail.Denial{Reason: reason}); err != nil {
			return err
		}
	}
	if err := r.tellAgent(ctx, s); err != nil {
		return err
	}
	return r.releaseClaim(ctx)
}
