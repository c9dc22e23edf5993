package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// QueryState returns the whole RequestState. Each stage's update names stand beside its
// handlers, in request_<stage>.go.
const QueryState = "state"

// request is one running privacy request: its state plus what the update handlers tell the
// main loop. Handlers only set flags and run activities; the main loop moves the status.
type request struct {
	in        RequestInput
	state     RequestState
	challenge domain.CodeChallenge
	seq       int64
	// recordMu keeps audit steps in sequence order even when handlers record concurrently.
	recordMu workflow.Mutex

	cancelled   *ending
	denied      *ending
	retryStores []string
	dueChanged  bool
	issuing     bool

	// batched marks a request that keeps the engine's work small: bookkeeping runs as local
	// activities, audit steps are written in batches by flushSteps, and the fan-out is one
	// activity. Requests started before keep their one-activity-per-step shape on replay.
	batched bool
	// pending are audit steps taken but not yet written; flushing is set while a batch is.
	pending  []activities.RecordStepInput
	flushing bool
	flushErr error
	// running counts bookkeeping local activities under way; steps are written when none
	// is, so the steps a workflow task takes go out together.
	running int
	// planDigests are the plan digests recorded, by store; unrecordedPlans the (store,
	// digest) pairs still to record (see recordPlans).
	planDigests     map[string]string
	unrecordedPlans [][2]string
}

// ending is a cancellation or denial the main loop has yet to carry out.
type ending struct {
	actor  Actor
	reason string
}

var a *activities.Activities

// activityOptions suit the short database and mail activities: they retry until they
// succeed, backing off to five minutes, so an outage delays a request but never loses a step.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
}

// execute runs a short activity. Update handlers get a context without the main loop's
// options, so every call sets them here.
func execute(ctx workflow.Context, activity any, args ...any) workflow.Future {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions), activity, args...)
}

// Request runs one privacy request from intake to a terminal status.
func Request(ctx workflow.Context, in RequestInput) (RequestState, error) {
	r := &request{in: in, recordMu: workflow.NewMutex(ctx)}
	r.batched = workflow.GetVersion(ctx, "batched-engine-work", workflow.DefaultVersion, 1) == 1
	r.state = RequestState{
		RequestID: in.RequestID, Type: in.Type, Jurisdiction: in.Jurisdiction,
		Status: domain.StatusReceived, ReceivedAt: in.ReceivedAt, DueAt: in.DueAt, OriginalDueAt: in.DueAt,
		IdentityRequirement: in.Identity.String(), IdentityAttempts: in.Verification.IdentityAttempts,
		OpenedBy: in.OpenedBy,
	}
	if err := r.registerHandlers(ctx); err != nil {
		return r.state, err
	}
	if r.batched {
		workflow.Go(ctx, r.flushSteps)
	}
	if err := r.record(ctx, "received", Actor{Role: domain.RoleSystem}, nil, nil); err != nil {
		return r.state, err
	}
	workflow.Go(ctx, r.watchDeadline)
	if err := r.run(ctx); err != nil {
		return r.state, err
	}
	// Let updates that arrived at the end finish before the workflow closes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.state, err
	}
	return r.state, r.flushed(ctx)
}

func (r *request) run(ctx workflow.Context) error {
	if r.in.OpenedBy == "" {
		done, err := r.verifyEmail(ctx)
		if done || err != nil {
			return err
		}
		if done, err := r.joinDuplicate(ctx); done || err != nil {
			return err
		}
		if err := r.notify(ctx, mail.KindAcknowledgement, mail.Acknowledgement{RequestType: string(r.in.Type), DueDate: r.state.DueAt}); err != nil {
			return err
		}
	}
	if done, err := r.reviewPermission(ctx); done || err != nil {
		return err
	}
	if done, err := r.verifyIdentity(ctx); done || err != nil {
		return err
	}
	return r.process(ctx)
}

// update is one update handler of the request workflow and its validator.
type update struct {
	name      string
	handler   any
	validator any
}

// registerHandlers sets the state query and every stage's updates.
func (r *request) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (RequestState, error) { return r.state, nil }); err != nil {
		return err
	}
	for _, stage := range [][]update{r.verificationUpdates(), r.identityUpdates(), r.permissionUpdates(), r.storeUpdates(), r.staffUpdates()} {
		for _, u := range stage {
			if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrorUnavailable is the type of an update's failure that a dependency caused, not the
// request: nothing changed, and the caller may try again shortly.
const ErrorUnavailable = "Unavailable"

// RefusalTypePrefix starts the type of every update's refusal; what follows is its kind,
// one of the Refusal constants. No failure of the machinery has such a type.
const RefusalTypePrefix = "Refusal:"

// Refusal kinds say why an update was refused, so that a page can say it in the reader's
// language; the message stays the API's English account.
const (
	RefusalClosed        = "closed"
	RefusalBusy          = "busy"
	RefusalNotNow        = "not_now"
	RefusalCodeFormat    = "code_format"
	RefusalResendTooSoon = "resend_too_soon"
	RefusalNoAttempts    = "no_attempts_left"
	RefusalDataPoints    = "data_points"
)

// refusal is an update's refusal of the given kind.
func refusal(kind, message string) error {
	return temporal.NewApplicationError(message, RefusalTypePrefix+kind)
}

var (
	errTerminal = refusal(RefusalClosed, "the request is closed")
	errBusy     = refusal(RefusalBusy, "the request is being processed; wait until it needs attention")
)

func (r *request) requireStatus(allowed ...domain.Status) error {
	return StaffFacts{Status: r.state.Status, Ending: r.cancelled != nil || r.denied != nil}.requireStatus(allowed...)
}

func errNotNow(s domain.Status) error {
	return refusal(RefusalNotNow, fmt.Sprintf("not possible while the request is %s", strings.ReplaceAll(string(s), "_", " ")))
}

// sameName reports whether two staff names differ at most in case and spacing.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
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

// maxTextLength bounds reasons and notes; they land in the audit log and in mail.
const maxTextLength = 2000

func requireText(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("a %s is required", what)
	}
	if len(s) > maxTextLength {
		return fmt.Errorf("the %s is longer than %d characters", what, maxTextLength)
	}
	return nil
}

var system = Actor{Role: domain.RoleSystem}

func (r *request) setStatus(ctx workflow.Context, s domain.Status, action string, actor Actor) error {
	return r.record(ctx, action, actor, &s, nil)
}

// notify mails the requester one notice, once the steps before it are written (a notice
// may link to what they record). The key makes a retried send a no-op.
func (r *request) notify(ctx workflow.Context, kind mail.Kind, data any) error {
	if err := r.flushed(ctx); err != nil {
		return err
	}
	return r.execute(ctx, a.SendNotice, activities.SendNoticeInput{
		Key:    fmt.Sprintf("%s:%s:%d", r.in.RequestID, kind, r.seq),
		Notice: mail.Notice{Kind: kind, RequestID: r.in.RequestID, Data: data},
	}).Get(ctx, nil)
}

// wait blocks until cond holds, the request is cancelled or denied, or until passes (the
// zero time waits without limit). It reports whether cond held.
func (r *request) wait(ctx workflow.Context, until time.Time, cond func() bool) (bool, error) {
	stop := func() bool { return cond() || r.cancelled != nil || r.denied != nil }
	if until.IsZero() {
		err := workflow.Await(ctx, stop)
		return cond(), err
	}
	d := until.Sub(workflow.Now(ctx))
	if d <= 0 {
		return cond(), nil
	}
	if _, err := workflow.AwaitWithTimeout(ctx, d, stop); err != nil {
		return false, err
	}
	return cond(), nil
}

// interrupted ends the request if staff cancelled or denied it while it waited.
func (r *request) interrupted(ctx workflow.Context) (bool, error) {
	switch {
	case r.cancelled != nil:
		return true, r.finish(ctx, domain.StatusCancelled, "cancelled", r.cancelled.actor, r.cancelled.reason)
	case r.denied != nil:
		return true, r.finish(ctx, domain.StatusDenied, "denied", r.denied.actor, r.denied.reason)
	}
	return false, nil
}
