package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
)

// A request's bookkeeping: how its short activities run, and how its audit steps are
// numbered, queued and written.

// local gives an activity's timeouts and retries to the same activity run as a local
// activity, in the worker that runs the workflow task: no engine round trip, one marker
// event. Retries past the first minute back off on a durable timer, so an outage still
// delays a request but never loses a step.
func local(opts workflow.ActivityOptions) workflow.LocalActivityOptions {
	scheduleToClose := opts.ScheduleToCloseTimeout
	if scheduleToClose == 0 {
		// Unset, a local activity's schedule-to-close is its start-to-close: it would give up
		// (and fail the request) after a minute of an outage, where an activity retries on.
		scheduleToClose = localRetryWindow
	}
	return workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: scheduleToClose, StartToCloseTimeout: opts.StartToCloseTimeout, RetryPolicy: opts.RetryPolicy,
	}
}

// localRetryWindow is how long a local activity without a bound of its own keeps retrying:
// longer than any request lives, so in effect until the outage ends.
const localRetryWindow = 2 * 365 * 24 * time.Hour

// execute runs a short bookkeeping activity of this request: a local activity once the
// request is batched. Each is idempotent, so a worker that dies before the workflow task
// completes and a replay that runs it again change nothing twice.
func (r *request) execute(ctx workflow.Context, activity any, args ...any) workflow.Future {
	return r.executeWith(ctx, activityOptions, activity, args...)
}

// executeWith is execute with other timeouts and retries.
func (r *request) executeWith(ctx workflow.Context, opts workflow.ActivityOptions, activity any, args ...any) workflow.Future {
	if !r.batched {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, args...)
	}
	f := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, local(opts)), activity, args...)
	r.running++
	workflow.Go(ctx, func(ctx workflow.Context) {
		_ = f.Get(ctx, nil)
		r.running--
	})
	return f
}

// record appends one audit step and applies its change to the request row, in sequence.
// to is the new status, or nil when the status stays. A batched request queues the step
// for flushSteps, which writes it before the workflow task that took it completes.
func (r *request) record(ctx workflow.Context, action string, actor Actor, to *domain.Status, change *activities.StepChange, details ...string) error {
	if r.batched {
		step, err := r.step(ctx, action, actor, to, change, details)
		if err != nil {
			return err
		}
		r.pending = append(r.pending, step)
		r.took(step, actor)
		return nil
	}
	if err := r.recordMu.Lock(ctx); err != nil {
		return err
	}
	defer r.recordMu.Unlock()
	step, err := r.step(ctx, action, actor, to, change, details)
	if err != nil {
		return err
	}
	if err := execute(ctx, a.RecordStep, step).Get(ctx, nil); err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	// The state changes only once the row has, so a status shown to the requester is one
	// the database already holds (the report, for one, is read from the row).
	r.took(step, actor)
	return nil
}

// step numbers the next audit step and moves the status search attribute with it.
func (r *request) step(ctx workflow.Context, action string, actor Actor, to *domain.Status, change *activities.StepChange, details []string) (activities.RecordStepInput, error) {
	r.seq++
	from, status := r.state.Status, r.state.Status
	// The status search attribute costs a history event per change. A batched request sets
	// it when it closes, so the engine's own lists can find how requests ended; while one
	// runs, the database (the dashboard) has its status.
	if to != nil && (!r.batched || to.Terminal()) {
		if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(string(*to))); err != nil {
			return activities.RecordStepInput{}, err
		}
	}
	if to != nil {
		status = *to
	}
	c := activities.StepChange{}
	if change != nil {
		c = *change
	}
	if to != nil {
		c.Status = to
	}
	c.Progress = r.progress()
	return activities.RecordStepInput{
		RequestID: r.in.RequestID, Seq: r.seq, At: workflow.Now(ctx), Action: action,
		Actor: actor.Name, Role: actor.Role, From: from, To: status, Details: details, Patch: c,
	}, nil
}

// took applies a recorded step to the workflow's state.
func (r *request) took(step activities.RecordStepInput, actor Actor) {
	r.state.Status = step.To
	r.state.Steps = append(r.state.Steps, Step{Seq: step.Seq, Action: step.Action, At: step.At, Actor: actor, Status: step.To})
}

// flushSteps writes queued audit steps, a batch per local activity, in sequence. It runs
// beside the main loop and the update handlers and writes once they are all waiting, on
// people, timers or stores: so a step one of them takes is written in the workflow task
// that took it (the task, and an update's answer, wait for it), with every other step of
// that task.
func (r *request) flushSteps(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.pending) > 0 && r.running == 0 }); err != nil {
			r.flushErr = err
			return
		}
		batch := r.pending
		r.pending, r.flushing = nil, true
		lctx := workflow.WithLocalActivityOptions(ctx, local(activityOptions))
		err := workflow.ExecuteLocalActivity(lctx, a.RecordSteps, activities.RecordStepsInput{Steps: batch}).Get(ctx, nil)
		r.flushing = false
		if err != nil {
			r.flushErr = fmt.Errorf("record %s: %w", batch[0].Action, err)
			return
		}
	}
}

// flushed waits until every step taken so far is written.
func (r *request) flushed(ctx workflow.Context) error {
	if !r.batched {
		return nil
	}
	if err := workflow.Await(ctx, func() bool { return r.flushErr != nil || (len(r.pending) == 0 && !r.flushing) }); err != nil {
		return err
	}
	return r.flushErr
}

// progress is the state of the mailbox and identity checks as the row keeps it.
func (r *request) progress() *activities.StepProgress {
	return &activities.StepProgress{
		EmailVerified: r.state.EmailVerified, CodeAttemptsLeft: r.state.CodeAttemptsLeft,
		IdentityRequirement: r.state.IdentityRequirement, IdentityVerified: r.state.IdentityVerified,
		IdentityMethod: r.state.IdentityMethod, IdentityAttemptsLeft: r.state.IdentityAttempts,
	}
}
