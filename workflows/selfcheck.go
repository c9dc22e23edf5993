package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
)

// SelfCheckInput names one self-check run.
type SelfCheckInput struct {
	CheckID string
}

// SelfCheckResult reports which worker recorded the run.
type SelfCheckResult struct {
	Worker string
}

// SelfCheck proves the whole path: a client starts it, a worker runs it, and an activity
// writes to the application database.
func SelfCheck(ctx workflow.Context, in SelfCheckInput) (SelfCheckResult, error) {
	var a *activities.Activities
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	var out activities.RecordSelfCheckResult
	err := workflow.ExecuteActivity(ctx, a.RecordSelfCheck, activities.RecordSelfCheckInput{
		CheckID:   in.CheckID,
		StartedAt: workflow.Now(ctx),
	}).Get(ctx, &out)
	if err != nil {
		return SelfCheckResult{}, err
	}
	return SelfCheckResult{Worker: out.Worker}, nil
}
