package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
)

// Plans: before a request changes data, each store's change is planned and kept sealed in
// the database, and the plan's digest goes into the audit chain. A request that waits for
// staff approval is planned before the wait, so that the analyst reads what approving
// will change; every other request is planned inside the fan-out, at no extra engine cost.

// planBeforeReviewVersion marks requests that plan their stores before staff review them.
const planBeforeReviewVersion = "plan-before-review"

// planBeforeReview plans the request in every store before it waits for approval. Requests
// that started before plans existed do not, and replay as they ran.
func (r *request) planBeforeReview(ctx workflow.Context) error {
	if !r.in.Type.Planned() || workflow.GetVersion(ctx, planBeforeReviewVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	var planned []activities.StorePlanned
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fanOutOptions), a.PlanStores,
		activities.PlanStoresInput{RequestID: r.in.RequestID}).Get(ctx, &planned)
	if err != nil {
		return err
	}
	for _, p := range planned {
		r.plannedNow(p.Store, p.SHA256)
	}
	return r.recordPlans(ctx)
}

// plannedNow notes a store's plan digest, to be recorded once.
func (r *request) plannedNow(store, digest string) {
	if digest == "" || r.planDigests[store] == digest {
		return
	}
	if r.planDigests == nil {
		r.planDigests = map[string]string{}
	}
	r.planDigests[store] = digest
	r.unrecordedPlans = append(r.unrecordedPlans, [2]string{store, digest})
}

// recordPlans records each new plan's digest as an audit step, with the store's name.
func (r *request) recordPlans(ctx workflow.Context) error {
	for _, p := range r.unrecordedPlans {
		if err := r.record(ctx, "store_planned", system, nil, nil, p[0], "sha256:"+p[1]); err != nil {
			return err
		}
	}
	r.unrecordedPlans = nil
	return nil
}
