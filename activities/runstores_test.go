package activities_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// countingStore finds the name, erases it, and exports it; it counts its runs.
type countingStore struct {
	name string
	runs atomic.Int32
}

func (s *countingStore) Name() string { return s.name }
func (s *countingStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	s.runs.Add(1)
	return connector.Result{Found: []string{"name"}, Changed: []string{"name"}, Export: map[string]any{"name": "Ada Lovelace"}}, nil
}
func (s *countingStore) Capabilities() connector.Capabilities { return connector.Capabilities{} }

// namedFailingStore fails every operation with err.
type namedFailingStore struct {
	name string
	err  error
}

func (s namedFailingStore) Name() string { return s.name }
func (s namedFailingStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{}, s.err
}
func (s namedFailingStore) Capabilities() connector.Capabilities { return connector.Capabilities{} }

// One fan-out activity runs every store; a failing store fails alone, with whether another
// try may help, and a retry of the activity does not run a store that already has a result.
func TestRunStoresReportsEachStoreAndRunsNoneTwice(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	ring, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	repo := requestdb.New(db).WithResultKeys(ring)
	now := time.Now().UTC()
	if err := repo.CreateRequest(context.Background(), &requestdb.Request{ID: "r1", Type: "suppress", Jurisdiction: "gdpr", Status: "in_progress",
		Email: "ada@example.com", EmailHash: "h", Details: `{}`, ReceivedAt: now, DueAt: now, OriginalDueAt: now}); err != nil {
		t.Fatal(err)
	}
	crm := &countingStore{name: "crm"}
	acts := &activities.Activities{Requests: repo, Stores: []connector.Connector{
		crm,
		namedFailingStore{"ledger", fmt.Errorf("account closed: %w", connector.ErrPermanent)},
		namedFailingStore{"shop", errors.New("connection refused")},
	}}
	in := activities.RunStoresInput{RequestID: "r1", Stores: []string{"crm", "ledger", "shop", "nowhere"}}
	for attempt := 1; attempt <= 2; attempt++ {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		val, err := env.ExecuteActivity(acts.RunStores, in)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		var out []activities.StoreRun
		if err := val.Get(&out); err != nil {
			t.Fatal(err)
		}
		byStore := map[string]activities.StoreRun{}
		for _, o := range out {
			byStore[o.Store] = o
		}
		if o := byStore["crm"]; o.Error != "" || !slices.Equal(o.Result.Changed, []string{"name"}) || o.Result.Export != nil {
			t.Errorf("attempt %d: crm = %+v, want its change without the exported data", attempt, o)
		}
		if o := byStore["ledger"]; o.Error == "" || o.Retryable {
			t.Errorf("attempt %d: ledger = %+v, want a failure no retry cures", attempt, o)
		}
		if o := byStore["shop"]; o.Error == "" || !o.Retryable {
			t.Errorf("attempt %d: shop = %+v, want a failure worth retrying", attempt, o)
		}
		if o := byStore["nowhere"]; o.Error == "" || o.Retryable {
			t.Errorf("attempt %d: an unconfigured store = %+v, want a failure no retry cures", attempt, o)
		}
	}
	if n := crm.runs.Load(); n != 1 {
		t.Errorf("crm ran %d times over two attempts, want once", n)
	}
}
