package activities_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// failingStore fails every operation with err.
type failingStore struct{ err error }

func (s failingStore) Name() string { return "ledger" }
func (s failingStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{}, s.err
}
func (s failingStore) Capabilities() connector.Capabilities { return connector.Capabilities{} }

// Any connector, not only a webhook, can say that the store refused for good: RunStore
// then fails without retries. Other errors stay worth retrying.
func TestRunStoreGivesUpOnlyWhenTheStoreRefusedForGood(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "review", Jurisdiction: "gdpr", Status: "in_progress", Email: "ada@example.com", EmailHash: "h",
		Details: `{}`, ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		err       error
		retryable bool
	}{
		{"refused", fmt.Errorf("store ledger: account closed: %w", connector.ErrPermanent), false},
		{"down", errors.New("store ledger: connection refused"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			acts := &activities.Activities{Requests: repo, Stores: []connector.Connector{failingStore{c.err}}}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			_, err := env.ExecuteActivity(acts.RunStore, activities.RunStoreInput{RequestID: "r1", Store: "ledger"})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("err = %v, want an application error", err)
			}
			if appErr.NonRetryable() == c.retryable {
				t.Errorf("err = %v, non-retryable %v; want retryable %v", err, appErr.NonRetryable(), c.retryable)
			}
			if !c.retryable && appErr.Type() != "StoreRefused" {
				t.Errorf("error type = %s, want StoreRefused", appErr.Type())
			}
		})
	}
}
