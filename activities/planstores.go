package activities

import (
	"context"
	"sync"
)

// PlanStoresInput names the request whose changes are planned before staff approve it.
type PlanStoresInput struct{ RequestID string }

// StorePlanned is one system's plan as the audit chain records it: the digest of the plan
// kept, or the error staff see when the system could not plan yet (the fan-out plans
// again before it applies).
type StorePlanned struct {
	Store  string
	SHA256 string `json:",omitempty"`
	Error  string `json:",omitempty"`
}

// PlanStores plans the request in every system that plans, at once, and keeps each plan,
// so that the analyst reads them before approving; the fan-out then applies against them.
// A system that fails to plan does not fail the others.
func (a *Activities) PlanStores(ctx context.Context, in PlanStoresInput) ([]StorePlanned, error) {
	req, details, err := a.requestToRun(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	stop := a.heartbeatUntilDone(ctx)
	defer stop()
	out := make([]StorePlanned, len(a.Stores))
	var wg sync.WaitGroup
	for i, store := range a.Stores {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
			defer cancel()
			out[i] = StorePlanned{Store: store.Name()}
			plan, err := a.planStore(ctx, store, a.operation(req, details))
			switch {
			case err != nil:
				out[i].Error = storeFailure(store.Name(), err).Error
			case plan != nil:
				out[i].SHA256 = plan.SHA256
			}
		})
	}
	wg.Wait()
	return out, ctx.Err()
}
