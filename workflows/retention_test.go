package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// Seven years pass in the test: the purge runs when the period ends, waits a day while a
// legal hold lasts, then erases the record.
func TestRetentionPurgeWaitsYearsThenOutlastsALegalHold(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterActivity(a)
	until := start.AddDate(7, 0, 0)
	var calls []time.Time
	env.OnActivity(a.PurgeRetained, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PurgeRetainedInput) (connector.PurgeOutcome, error) {
		calls = append(calls, env.Now())
		if len(calls) == 1 {
			return connector.PurgeOutcome{LegalHold: true}, nil
		}
		return connector.PurgeOutcome{Purged: true}, nil
	})
	env.ExecuteWorkflow(workflows.RetentionPurge, workflows.RetentionPurgeInput{RequestID: "r1", Store: "shop", Ref: "orders:A-1", Until: until, Index: 1})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("purge tried %d times, want 2", len(calls))
	}
	if calls[0].Before(until) || calls[0].After(until.Add(time.Minute)) {
		t.Errorf("first purge at %s, want when the retention ends, %s", calls[0], until)
	}
	if got := calls[1].Sub(calls[0]); got < 24*time.Hour {
		t.Errorf("retried after %s under a legal hold, want a day", got)
	}
}

func TestSuppressionStartsOnePurgeTimerPerKeptRecord(t *testing.T) {
	h := newHarness(t, domain.TypeSuppress)
	h.matched = 2
	kept := connector.Result{Store: "shop", Retained: []connector.Retention{
		{What: "order A-1", Reason: "tax law", Until: start.AddDate(7, 0, 0), Ref: "orders:A-1"},
		{What: "order A-2", Reason: "tax law", Until: start.AddDate(6, 0, 0), Ref: "orders:A-2"},
	}}
	h.stores, h.storeResult = []string{"shop"}, &kept
	h.env.RegisterWorkflow(workflows.RetentionPurge)
	var mu sync.Mutex
	var started []workflows.RetentionPurgeInput
	h.env.OnWorkflow(workflows.RetentionPurge, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in workflows.RetentionPurgeInput) (connector.PurgeOutcome, error) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, in)
		return connector.PurgeOutcome{Purged: true}, nil
	})
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "x"}})
	wantStatus(t, h.run(), domain.StatusCompleted)
	// The purges start together, so they may run in either order.
	slices.SortFunc(started, func(a, b workflows.RetentionPurgeInput) int { return strings.Compare(a.Ref, b.Ref) })
	if len(started) != 2 || started[0].Ref != "orders:A-1" || !started[0].Until.Equal(start.AddDate(7, 0, 0)) ||
		started[1].Ref != "orders:A-2" || !started[1].Until.Equal(start.AddDate(6, 0, 0)) {
		t.Errorf("purge timers started: %+v", started)
	}
}
