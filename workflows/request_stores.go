package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// The stores stage: the request fans out to every system, waits for those that answer later,
// and waits on staff for those that fail.

// Update names of the stores stage.
const (
	UpdateStoreResult = "store-result"
	UpdateRetryStore  = "retry-store"
)

// StoreOutcome is one system's result, or its error while it is failing.
type StoreOutcome struct {
	Store   string           `json:"store"`
	Done    bool             `json:"done"`
	Pending bool             `json:"pending,omitempty"`
	Error   string           `json:"error"`
	Result  connector.Result `json:"result"`
}

// StoreResultInput delivers a result that came later: a store's signed callback, or a
// staff member completing a manual task.
type StoreResultInput struct {
	Store  string           `json:"store"`
	Result connector.Result `json:"result"`
	Actor  Actor            `json:"actor"`
}

// RetryStoreInput runs one failed store again.
type RetryStoreInput struct {
	Actor Actor  `json:"actor"`
	Store string `json:"store"`
}

// StoreAnswerWindow is how long a request waits for stores that answer later; DataGrail
// gives processors contacted by e-mail 14 days.
const StoreAnswerWindow = 14 * 24 * time.Hour

func (r *request) storeUpdates() []update {
	return []update{
		{UpdateStoreResult, r.storeResult, r.validateStoreResult},
		{UpdateRetryStore, r.retryStore, r.validateRetryStore},
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
	if err := r.execute(ctx, a.ListStores, activities.ListStoresInput{RequestID: r.in.RequestID}).Get(ctx, &stores); err != nil {
		return err
	}
	for _, s := range stores {
		r.state.Stores = append(r.state.Stores, StoreOutcome{Store: s})
	}
	pending := stores
	for {
		r.runStores(ctx, pending)
		if err := r.recordPlans(ctx); err != nil {
			return err
		}
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

// runStores runs the stores and keeps each one's outcome.
func (r *request) runStores(ctx workflow.Context, stores []string) {
	if r.batched {
		r.runStoresTogether(ctx, stores)
		return
	}
	r.runStoresOneByOne(ctx, stores)
}

// fanOutOptions suit one activity that runs every store of a request: each store has its
// own timeout inside it, and heartbeats show the worker is alive. Retries of the activity
// itself (a worker died, the database was down) skip the stores that have a result.
var fanOutOptions = workflow.ActivityOptions{
	StartToCloseTimeout: activities.StoreTimeout + time.Minute, HeartbeatTimeout: time.Minute,
	RetryPolicy: activityOptions.RetryPolicy,
}

// runStoresTogether runs the stores in one activity, in parallel inside it, and runs those
// that failed and may succeed again with storeRetry's backoff and attempts.
func (r *request) runStoresTogether(ctx workflow.Context, stores []string) {
	backoff := storeRetry.InitialInterval
	for attempt := int32(1); ; attempt++ {
		var out []activities.StoreRun
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fanOutOptions), a.RunStores,
			activities.RunStoresInput{RequestID: r.in.RequestID, Stores: stores}).Get(ctx, &out)
		if err != nil {
			// Only a cancelled workflow gets here: the activity retries without limit.
			for _, s := range stores {
				r.setStoreOutcome(StoreOutcome{Store: s, Error: storeError(err)})
			}
			return
		}
		var again []string
		for _, o := range out {
			r.plannedNow(o.Store, o.PlanSHA256)
			r.setStoreOutcome(StoreOutcome{Store: o.Store, Done: o.Error == "" && !o.Pending, Pending: o.Pending, Error: o.Error, Result: o.Result})
			if o.Error != "" && o.Retryable && attempt < storeRetry.MaximumAttempts {
				again = append(again, o.Store)
			}
		}
		if len(again) == 0 {
			return
		}
		if err := workflow.Sleep(ctx, backoff); err != nil {
			return
		}
		backoff = min(time.Duration(float64(backoff)*storeRetry.BackoffCoefficient), storeRetry.MaximumInterval)
		stores = again
	}
}

// setStoreOutcome keeps a store's outcome, unless a callback delivered its result first.
func (r *request) setStoreOutcome(o StoreOutcome) {
	i := slices.IndexFunc(r.state.Stores, func(s StoreOutcome) bool { return s.Store == o.Store })
	if i < 0 || r.state.Stores[i].Done {
		return
	}
	r.state.Stores[i] = o
}

// runStoresOneByOne is the fan-out of requests started before runStoresTogether: an
// activity per store.
func (r *request) runStoresOneByOne(ctx workflow.Context, stores []string) {
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
	err := r.execute(ctx, a.RecordStoreResult, activities.RecordStoreResultInput{RequestID: r.in.RequestID, Store: in.Store, Result: in.Result}).Get(ctx, &out)
	if err != nil {
		return err
	}
	if r.state.Stores[i].Done {
		return nil
	}
	r.state.Stores[i] = StoreOutcome{Store: in.Store, Done: true, Result: out.Result}
	return r.record(ctx, "store_answered", in.Actor, nil, nil, in.Store)
}

func (r *request) validateRetryStore(ctx workflow.Context, in RetryStoreInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := r.staffFacts(workflow.Now(ctx)).Refusal(UpdateRetryStore, in.Actor); err != nil {
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
