package bench

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// EngineWork is what one workflow execution cost the engine, counted from its history.
type EngineWork struct {
	// Events is the history's length: every event the engine persisted.
	Events int `json:"events"`
	// WorkflowTasks, Activities and Updates each took a round trip between worker (or
	// client) and engine; local activities ran inside a workflow task and took none.
	WorkflowTasks   int `json:"workflow_tasks"`
	Activities      int `json:"activities"`
	Updates         int `json:"updates"`
	LocalActivities int `json:"local_activities"`
}

// RoundTrips is the engine round trips the execution took.
func (w EngineWork) RoundTrips() int { return w.WorkflowTasks + w.Activities + w.Updates }

// CountEngineWork reads a workflow's whole history and counts its engine work.
func CountEngineWork(ctx context.Context, c client.Client, workflowID string) (EngineWork, error) {
	var w EngineWork
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return EngineWork{}, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		w.Events++
		switch e.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			w.WorkflowTasks++
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			w.Activities++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			w.Updates++
		case enums.EVENT_TYPE_MARKER_RECORDED:
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				w.LocalActivities++
			}
		}
	}
	return w, nil
}

// Engine-work goals per request (issue: a review or suppression of a demo person).
const (
	MaxRoundTripsPerRequest    = 12
	MaxHistoryEventsPerRequest = 45
)

// engineWorkFigures reports one request type's engine work against the goals.
func engineWorkFigures(typ string, w EngineWork) []Figure {
	trips, events := w.RoundTrips() <= MaxRoundTripsPerRequest, w.Events <= MaxHistoryEventsPerRequest
	return []Figure{
		{Name: "engine round trips per " + typ, Value: float64(w.RoundTrips()), Unit: "round trips",
			Goal: fmt.Sprintf("≤ %d", MaxRoundTripsPerRequest), Pass: &trips},
		{Name: "history events per " + typ, Value: float64(w.Events), Unit: "events",
			Goal: fmt.Sprintf("≤ %d", MaxHistoryEventsPerRequest), Pass: &events},
		{Name: "activities per " + typ, Value: float64(w.Activities), Unit: "activities"},
		{Name: "local activities per " + typ, Value: float64(w.LocalActivities), Unit: "local activities"},
	}
}
