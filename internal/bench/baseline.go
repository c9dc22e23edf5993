package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BaselineTaskQueue is where the harness runs its own baseline workflows, on the same
// server as dsr but apart from dsr's workers.
const BaselineTaskQueue = "dsr-bench-baseline"

// TrivialWorkflow is the intake baseline: the least a workflow can be.
func TrivialWorkflow(workflow.Context) error { return nil }

// NoopActivitiesWorkflow is the end-to-end baseline: as many activities as a dsr request
// runs, each doing nothing, one after another.
func NoopActivitiesWorkflow(ctx workflow.Context, activities int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range activities {
		if err := workflow.ExecuteActivity(ctx, NoopActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// NoopActivity does nothing; its cost is the engine's alone.
func NoopActivity(context.Context) error { return nil }

// startBaselineWorker polls BaselineTaskQueue with the same default options dsr's worker
// uses, so the baseline gets no head start. The caller stops it.
func startBaselineWorker(c client.Client) (worker.Worker, error) {
	w := worker.New(c, BaselineTaskQueue, worker.Options{})
	w.RegisterWorkflow(TrivialWorkflow)
	w.RegisterWorkflow(NoopActivitiesWorkflow)
	w.RegisterActivity(NoopActivity)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start baseline worker: %w", err)
	}
	return w, nil
}
