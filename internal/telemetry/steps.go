package telemetry

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/dsr-project/dsr/activities"
)

// stepObserver counts request status changes and the time spent in the status left. It
// watches the RecordStep activity, the one place every transition is written, and counts a
// step only when that activity succeeds. A retry of a step an earlier attempt already
// stored is not counted again, so counters stay exact across retries, and each transition
// is counted by the one worker that ran it, so sums across workers are right.
type stepObserver struct {
	interceptor.InterceptorBase
	t *Telemetry
}

func (o *stepObserver) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &stepInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, observer: o}
}

type stepInbound struct {
	interceptor.ActivityInboundInterceptorBase
	observer *stepObserver
}

// recordStepActivity is the activity type name of activities.Activities.RecordStep.
const recordStepActivity = "RecordStep"

func (s *stepInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	step, ok := transition(info.ActivityType.Name, in.Args)
	o := s.observer
	if !ok || o.t.db == nil {
		return s.Next.ExecuteActivity(ctx, in)
	}
	storedBefore := false
	if info.Attempt > 1 {
		var err error
		if storedBefore, err = o.stepStored(ctx, step); err != nil {
			// Unsure whether an earlier attempt counted it: leave it out rather than twice.
			o.t.log.Warn("could not tell whether a step was already counted", "request_id", step.RequestID, "error", err)
			storedBefore = true
		}
	}
	res, err := s.Next.ExecuteActivity(ctx, in)
	if err == nil && !storedBefore {
		o.observe(ctx, step)
	}
	return res, err
}

// transition returns the step a RecordStep call records when it changes the status.
func transition(activityType string, args []any) (activities.RecordStepInput, bool) {
	if activityType != recordStepActivity || len(args) != 1 {
		return activities.RecordStepInput{}, false
	}
	var step activities.RecordStepInput
	switch a := args[0].(type) {
	case activities.RecordStepInput:
		step = a
	case *activities.RecordStepInput:
		step = *a
	default:
		return activities.RecordStepInput{}, false
	}
	return step, step.From != step.To
}

func (o *stepObserver) stepStored(ctx context.Context, step activities.RecordStepInput) (bool, error) {
	var n int64
	err := o.t.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM audit_events WHERE request_id = ? AND seq = ?`, step.RequestID, step.Seq).Scan(&n).Error
	return n > 0, err
}

// observe counts the transition and the time since the request entered the status it
// leaves: the previous status change, or its receipt for the first one. Two indexed
// lookups, only on status changes, a handful per request.
func (o *stepObserver) observe(ctx context.Context, step activities.RecordStepInput) {
	var req struct {
		Type       string
		ReceivedAt time.Time
	}
	if err := o.t.db.WithContext(ctx).Raw(`SELECT type, received_at FROM requests WHERE id = ?`, step.RequestID).Scan(&req).Error; err != nil || req.Type == "" {
		o.t.log.Warn("could not read a request's type for its metrics", "request_id", step.RequestID, "error", err)
		return
	}
	o.t.own.transitions.WithLabelValues(req.Type, string(step.From), string(step.To)).Inc()
	var entered []time.Time
	err := o.t.db.WithContext(ctx).Raw(`SELECT at FROM audit_events WHERE request_id = ? AND seq < ? AND from_status <> to_status ORDER BY seq DESC LIMIT 1`,
		step.RequestID, step.Seq).Scan(&entered).Error
	if err != nil {
		o.t.log.Warn("could not read when a request entered its status", "request_id", step.RequestID, "error", err)
		return
	}
	since := req.ReceivedAt
	if len(entered) == 1 {
		since = entered[0]
	}
	o.t.own.timeInStatus.WithLabelValues(req.Type, string(step.From)).Observe(max(step.At.Sub(since), 0).Seconds())
}
