package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
)

// legalHoldRecheck is how often a record under legal hold is looked at again: a hold has
// no end date, so the purge waits for someone to lift it.
const legalHoldRecheck = 24 * time.Hour

// purgeSeqBase numbers purge audit events after any step the request workflow can take.
const purgeSeqBase = 1 << 40

// RetentionPurgeInput names one record a store kept and when its retention ends.
type RetentionPurgeInput struct {
	RequestID string
	Store     string
	Ref       string
	Until     time.Time
	// Index is the record's place among the request's kept records.
	Index int
}

// RetentionPurgeID is the workflow ID of a record's purge: request and index, never PII.
func RetentionPurgeID(requestID string, index int) string {
	return fmt.Sprintf("dsr-purge-%s-%d", requestID, index)
}

// RetentionPurge is the durable timer of one kept record: it sleeps until the retention
// ends, even years, then has the store erase the record, waiting on while a legal hold
// lasts or the store reports a longer period.
func RetentionPurge(ctx workflow.Context, in RetentionPurgeInput) (connector.PurgeOutcome, error) {
	until := in.Until
	for {
		if d := until.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return connector.PurgeOutcome{}, err
			}
		}
		var out connector.PurgeOutcome
		err := execute(ctx, a.PurgeRetained, activities.PurgeRetainedInput{
			RequestID: in.RequestID, Store: in.Store, Ref: in.Ref, Seq: purgeSeqBase + int64(in.Index),
		}).Get(ctx, &out)
		if err != nil || out.Purged {
			return out, err
		}
		until = out.HeldUntil
		if out.LegalHold || !until.After(workflow.Now(ctx)) {
			until = workflow.Now(ctx).Add(legalHoldRecheck)
		}
	}
}

// schedulePurges starts one purge timer per record kept by a suppression. The timers are
// their own workflows, left running when the request closes. A batched request starts them
// all before waiting for any, so their starts share workflow tasks.
func (r *request) schedulePurges(ctx workflow.Context) error {
	if !r.batched && workflow.GetVersion(ctx, "retention-purge", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	var started []workflow.Future
	index := 0
	for _, o := range r.state.Stores {
		for _, k := range o.Result.Retained {
			if k.Ref == "" {
				continue
			}
			index++
			child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        RetentionPurgeID(r.in.RequestID, index),
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON,
			})
			f := workflow.ExecuteChildWorkflow(child, RetentionPurge, RetentionPurgeInput{
				RequestID: r.in.RequestID, Store: o.Store, Ref: k.Ref, Until: k.Until, Index: index,
			})
			if r.batched {
				started = append(started, f.GetChildWorkflowExecution())
				continue
			}
			if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	for _, f := range started {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}
