package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// RunStoresInput names the systems one fan-out runs a request in.
type RunStoresInput struct {
	RequestID string
	Stores    []string
}

// StoreRun is what one system made of the request: its result, Pending when it answers
// later, or an Error staff may see (it names no person). Retryable says whether running the
// system again may help.
type StoreRun struct {
	Store     string
	Result    connector.Result
	Pending   bool
	Error     string
	Retryable bool
	// PlanSHA256 is the digest of the plan the system was held to, for the audit chain;
	// empty when it made none.
	PlanSHA256 string `json:",omitempty"`
}

// StoreTimeout bounds one system's run inside a fan-out.
const StoreTimeout = 10 * time.Minute

// storeHeartbeat is how often a fan-out tells the engine it is alive while systems run.
const storeHeartbeat = 10 * time.Second

// RunStores runs the request in every named system at once and reports each one's outcome.
// One engine activity for the whole fan-out keeps the engine's work per request flat in the
// number of systems. A failing system never fails the others: its error comes back in its
// StoreRun. A system that already has a result (a retry after a worker died) is not run
// again; its saved result comes back, so its change is applied once.
func (a *Activities) RunStores(ctx context.Context, in RunStoresInput) ([]StoreRun, error) {
	req, details, err := a.requestToRun(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	saved, err := a.Requests.StoreResults(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	done := make(map[string]connector.Result, len(saved))
	for _, res := range saved {
		res.Export, res.Before = nil, nil
		done[res.Store] = res
	}
	plans, err := a.Requests.StorePlans(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	planned := map[string]string{}
	for _, p := range plans {
		planned[p.Store] = p.SHA256
	}

	stop := a.heartbeatUntilDone(ctx)
	defer stop()
	out := make([]StoreRun, len(in.Stores))
	var wg sync.WaitGroup
	for i, name := range in.Stores {
		if res, ok := done[name]; ok {
			out[i] = StoreRun{Store: name, Result: res, PlanSHA256: planned[name]}
			continue
		}
		wg.Go(func() { out[i] = a.runOneStore(ctx, req, details, name) })
	}
	wg.Wait()
	return out, ctx.Err()
}

// heartbeatUntilDone heartbeats on a ticker until the returned func is called, so a worker
// that dies mid fan-out is noticed within the heartbeat timeout. The first beat waits a
// tick: most fan-outs are done sooner and then cost the engine no heartbeat at all.
func (a *Activities) heartbeatUntilDone(ctx context.Context) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(storeHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// requestToRun reads the request the stores are to run, with its details.
func (a *Activities) requestToRun(ctx context.Context, requestID string) (*requestdb.Request, domain.Details, error) {
	req, err := a.Requests.GetRequest(ctx, requestID)
	if err != nil {
		return nil, domain.Details{}, err
	}
	var details domain.Details
	if err := json.Unmarshal([]byte(req.Details), &details); err != nil {
		return nil, domain.Details{}, temporal.NewNonRetryableApplicationError("request details are not valid JSON", "BadDetails", nil)
	}
	return req, details, nil
}

// runOneStore plans the request in one system, when the system plans and the request
// changes data, then applies it held to that plan, and keeps its full result for the
// report. A plan kept from an earlier attempt is applied as it is; one the rows no longer
// match is dropped, so that staff's retry plans afresh.
func (a *Activities) runOneStore(ctx context.Context, req *requestdb.Request, details domain.Details, name string) StoreRun {
	store := a.store(name)
	if store == nil {
		return StoreRun{Store: name, Error: "store " + name + " is not configured"}
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	op := a.operation(req, details)
	plan, err := a.planStore(ctx, store, op)
	if err != nil {
		return storeFailure(name, err)
	}
	run := StoreRun{Store: name}
	if plan != nil {
		run.PlanSHA256 = plan.SHA256
		if plan.Plan.CannotPlan == "" {
			op.Plan = &plan.Plan
		}
	}
	res, err := store.Apply(ctx, op)
	switch {
	case errors.Is(err, connector.ErrPlanStale):
		if err := a.Requests.DropStorePlan(ctx, req.ID, name); err != nil {
			return StoreRun{Store: name, Error: "could not drop a plan the rows no longer match", Retryable: true, PlanSHA256: run.PlanSHA256}
		}
		run.Error = fmt.Sprintf("%s: %v", name, err)
		return run
	case errors.Is(err, connector.ErrPending):
		if err := a.Requests.MarkStorePending(ctx, req.ID, name); err != nil {
			return StoreRun{Store: name, Error: "could not record that the system answers later", Retryable: true}
		}
		run.Pending = true
		return run
	case err != nil:
		failed := storeFailure(name, err)
		failed.PlanSHA256 = run.PlanSHA256
		return failed
	}
	kept, err := a.keepStoreResult(ctx, req.ID, name, res)
	if err != nil {
		// The change is applied; connectors apply a request once, so running it again is safe.
		return StoreRun{Store: name, Error: "could not save the result", Retryable: true, PlanSHA256: run.PlanSHA256}
	}
	run.Result = kept.Result
	return run
}

// operation is the request as a connector receives it.
func (a *Activities) operation(req *requestdb.Request, details domain.Details) connector.Operation {
	return connector.Operation{RequestID: req.ID, Type: req.Type, Email: req.Email, Details: details}
}

// planStore returns the system's kept plan for the operation, making and keeping one
// first if there is none; nil when the system does not plan or the request changes
// nothing.
func (a *Activities) planStore(ctx context.Context, store connector.Connector, op connector.Operation) (*requestdb.SealedPlan, error) {
	planner := store.Capabilities().Planner
	if planner == nil || !op.Type.Planned() {
		return nil, nil
	}
	if kept, found, err := a.Requests.StorePlan(ctx, op.RequestID, store.Name()); err != nil || found {
		return &kept, err
	}
	p, err := planner.Plan(ctx, op)
	if err != nil {
		return nil, err
	}
	kept, err := a.Requests.SaveStorePlan(ctx, op.RequestID, store.Name(), p)
	return &kept, err
}

// storeFailure is what staff see of a system's error, and whether running it again may help.
func storeFailure(name string, err error) StoreRun {
	var appErr *temporal.ApplicationError
	switch {
	case errors.Is(err, connector.ErrPermanent) || errors.Is(err, domain.ErrInvalid):
		return StoreRun{Store: name, Error: fmt.Sprintf("%s: %v", name, err)}
	case errors.Is(err, context.DeadlineExceeded):
		return StoreRun{Store: name, Error: "timed out", Retryable: true}
	case errors.As(err, &appErr):
		return StoreRun{Store: name, Error: appErr.Error(), Retryable: !appErr.NonRetryable()}
	}
	return StoreRun{Store: name, Error: fmt.Sprintf("%s: %v", name, err), Retryable: true}
}

// store returns the configured system with that name, or nil.
func (a *Activities) store(name string) connector.Connector {
	for _, s := range a.Stores {
		if s.Name() == name {
			return s
		}
	}
	return nil
}
