package bench

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// The stub answers dsr's own connector, built from the generated data map, and refuses a
// request signed with another secret.
func TestWebhookStubAnswersSignedRequestsOnly(t *testing.T) {
	const secret = "fanout-test-secret-0123456789"
	stub, err := StartWebhookStub("k1", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	m, err := datamap.Parse("fanout.yaml", FanoutDataMap(stub.URL(), "k1", "FANOUT_TEST_SECRET", 3))
	if err != nil {
		t.Fatalf("generated data map: %v", err)
	}
	if len(m.Stores) != 3 {
		t.Fatalf("%d stores, want 3", len(m.Stores))
	}
	hook, err := webhook.FromDataMap(m.Stores[2], func(string) (string, bool) { return secret, true }, nil)
	if err != nil {
		t.Fatal(err)
	}
	op := connector.Operation{RequestID: "r1", Type: domain.TypeSuppress, Email: "a@example.org",
		Details: domain.Details{Scope: &domain.SuppressScope{All: true}}}
	res, err := hook.Apply(t.Context(), op)
	if err != nil || !slices.Equal(res.Changed, []string{"name"}) {
		t.Fatalf("suppress: %+v, %v; want name changed", res, err)
	}
	op.Type, op.Details = domain.TypeReview, domain.Details{}
	if res, err = hook.Apply(t.Context(), op); err != nil || !slices.Equal(res.Found, []string{"name"}) || len(res.Changed) != 0 {
		t.Fatalf("review: %+v, %v; want name found, nothing changed", res, err)
	}
	forged := webhook.New("fanout-1", webhook.Config{URL: stub.URL(), KeyID: "k1", Secret: []byte("another-secret-0123456789")})
	if _, err := forged.Apply(t.Context(), op); !errors.Is(err, connector.ErrPermanent) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("forged request: %v, want a 401", err)
	}
	if stub.Calls() != 2 {
		t.Errorf("%d calls answered, want 2", stub.Calls())
	}
}
