package api_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// lockableChecker is a store's data-point check that fails while the store is locked.
type lockableChecker struct{ locked atomic.Bool }

func (c *lockableChecker) MatchDataPoints(context.Context, string, map[string]string) (int, error) {
	if c.locked.Load() {
		return 0, errors.New("store crm: match data points: database is locked")
	}
	return 2, nil
}

type checkerStore struct{ checker *lockableChecker }

func (checkerStore) Name() string { return "crm" }
func (checkerStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{Store: "crm", NotFound: true}, nil
}
func (s checkerStore) Capabilities() connector.Capabilities {
	return connector.Capabilities{IdentityChecker: s.checker}
}

// A store that cannot answer leaves the identity attempts as they were and the requester
// is told to try again; once it answers, the one attempt that compared data points counts.
func TestIdentityCheckAStoreCannotAnswerUsesNoAttempt(t *testing.T) {
	checker := &lockableChecker{}
	s := startStack(t, func(_ *api.Options, a *activities.Activities) {
		a.Stores = []connector.Connector{checkerStore{checker}}
	})
	req := s.open(`{"type":"review","email":"lena@example.com"}`)
	s.verify(req, "lena@example.com")
	s.awaitRequesterStatus(req, domain.StatusAwaitingIdentityVerification)

	checker.locked.Store(true)
	answers := `{"answers":{"postal_code":"BS1 4DJ","phone_last4":"0123"}}`
	a := s.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/identity", answers, req.StatusToken)
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("identity while the store is locked = %d %s, want 503 with Retry-After", a.code, a.body)
	}
	view, _ := s.awaitRequesterStatus(req, domain.StatusAwaitingIdentityVerification)
	if view.IdentityAttemptsLeft != 3 {
		t.Errorf("attempts left after a check no store answered = %d, want 3", view.IdentityAttemptsLeft)
	}

	checker.locked.Store(false)
	var out struct {
		Verified     bool `json:"verified"`
		AttemptsLeft int  `json:"attempts_left"`
	}
	s.must(http.StatusOK, http.MethodPost, "/api/v1/requests/"+req.ID+"/identity", answers, req.StatusToken, &out)
	if !out.Verified || out.AttemptsLeft != 2 {
		t.Errorf("identity once the store answers = %+v, want verified with 2 attempts left", out)
	}
}
