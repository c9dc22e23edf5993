package workflows_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/workflows"
)

func TestSelfCheckRetriesTheActivityUntilItRecords(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordSelfCheck, mock.Anything, mock.Anything).
		Return(activities.RecordSelfCheckResult{}, errors.New("database restarting")).Once()
	env.OnActivity(a.RecordSelfCheck, mock.Anything, mock.MatchedBy(func(in activities.RecordSelfCheckInput) bool {
		return in.CheckID == "c1"
	})).Return(activities.RecordSelfCheckResult{Worker: "w1"}, nil).Once()

	env.ExecuteWorkflow(workflows.SelfCheck, workflows.SelfCheckInput{CheckID: "c1"})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var got workflows.SelfCheckResult
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if got.Worker != "w1" {
		t.Errorf("worker = %q, want w1", got.Worker)
	}
	env.AssertExpectations(t)
}

func TestSelfCheckWorkflowIDCarriesNoPersonalData(t *testing.T) {
	if got, want := workflows.SelfCheckID("123e4567"), "dsr-selfcheck-123e4567"; got != want {
		t.Errorf("SelfCheckID = %q, want %q", got, want)
	}
}
