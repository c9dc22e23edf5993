package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// capableStore is a store with the capabilities a test gives it.
type capableStore struct {
	name    string
	matches int
	purges  bool
}

func (s *capableStore) Name() string { return s.name }
func (s *capableStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{Store: s.name}, nil
}
func (s *capableStore) Capabilities() connector.Capabilities {
	var caps connector.Capabilities
	if s.matches > 0 {
		caps.IdentityChecker = s
	}
	if s.purges {
		caps.Purger = s
	}
	return caps
}
func (s *capableStore) MatchDataPoints(context.Context, string, map[string]string) (int, error) {
	return s.matches, nil
}
func (s *capableStore) Purge(context.Context, string) (connector.PurgeOutcome, error) {
	return connector.PurgeOutcome{Purged: true}, nil
}

func capabilitiesRepo(t *testing.T) *requestdb.Repo {
	t.Helper()
	repo := requestdb.New(testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: "suppress", Jurisdiction: "gdpr", Status: "in_progress", Email: "ada@example.com", EmailHash: "h",
		Details: `{}`, ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// The stores that can check identities are asked; the best single match counts.
func TestCheckIdentityAsksTheStoresThatCanCheck(t *testing.T) {
	repo := capabilitiesRepo(t)
	in := activities.CheckIdentityInput{RequestID: "r1", Answers: map[string]string{"postal_code": "NW1 2DB"}}
	for _, c := range []struct {
		name   string
		stores []connector.Connector
		want   int
	}{
		{"best of two", []connector.Connector{&capableStore{name: "crm", matches: 1}, &capableStore{name: "shop", matches: 2},
			&capableStore{name: "paper"}}, 2},
		{"none can check", []connector.Connector{&capableStore{name: "paper"}}, 0},
	} {
		acts := &activities.Activities{Requests: repo, Stores: c.stores}
		out, err := acts.CheckIdentity(context.Background(), in)
		if err != nil || out.Matched != c.want {
			t.Errorf("%s: got %d, %v; want %d", c.name, out.Matched, err, c.want)
		}
	}
}

// A store that can purge erases the record and the audit log says so; one that cannot is
// an error no retry cures.
func TestPurgeRetainedNeedsAStoreThatCanPurge(t *testing.T) {
	repo := capabilitiesRepo(t)
	acts := &activities.Activities{Requests: repo, Stores: []connector.Connector{
		&capableStore{name: "shop", purges: true}, &capableStore{name: "paper"}}}
	ctx := context.Background()
	out, err := acts.PurgeRetained(ctx, activities.PurgeRetainedInput{RequestID: "r1", Store: "shop", Ref: "orders:A-1", Seq: 1})
	if err != nil || !out.Purged {
		t.Fatalf("purge in shop = %+v, %v", out, err)
	}
	events, err := repo.AuditEvents(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Action != "retention_purged" {
		t.Errorf("audit events = %+v, want one retention_purged", events)
	}

	_, err = acts.PurgeRetained(ctx, activities.PurgeRetainedInput{RequestID: "r1", Store: "paper", Ref: "box:7", Seq: 2})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "NoPurge" {
		t.Errorf("purge in a store that cannot = %v, want a non-retryable NoPurge", err)
	}
}
