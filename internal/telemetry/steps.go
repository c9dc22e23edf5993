package telemetry

import (
	"context"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The worker's activities report the steps they store to the telemetry.
var _ activities.StepObserver = (*Telemetry)(nil)

// StepStored counts a request's status change and the time it spent in the status it left.
// The activities report each step once, when it is first stored, however often the activity
// is retried, so counters stay exact across retries; and each transition is counted by the
// one worker that stored it, so sums across workers are right.
func (t *Telemetry) StepStored(_ context.Context, step requestdb.Applied) {
	if !step.Transition() {
		return
	}
	t.own.transitions.WithLabelValues(string(step.Type), string(step.From), string(step.To)).Inc()
	t.own.timeInStatus.WithLabelValues(string(step.Type), string(step.From)).Observe(step.TimeInFrom.Seconds())
}
