package sqlstore_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/testenv"
)

// demoCompany is the demo's SQL stores, set up and seeded, each run by the generic
// connector from internal/demo/datamap.yaml.
type demoCompany struct {
	stores map[string]connector.Connector
	dbs    map[string]*sql.DB
	driver datamap.Driver
}

func openDemoCompany(t *testing.T, target string) demoCompany {
	t.Helper()
	m, err := demo.Setup(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	c := demoCompany{stores: map[string]connector.Connector{}, dbs: map[string]*sql.DB{}}
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL {
			continue
		}
		conn, db, err := sqlstore.Open(ctx, s, sqlstore.WithHashKey(hashKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c.stores[s.Name], c.dbs[s.Name], c.driver = conn, db, s.Connection.Driver
	}
	return c
}

// demoTargets are a fresh demo on each engine; the PostgreSQL schemas go at the end.
func demoTargets(t *testing.T) map[string]string {
	pg := testenv.PostgresURL(t)
	target, err := demo.ParseTarget(pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := target.Remove(ctx); err != nil {
			t.Errorf("remove the demo company: %v", err)
		}
	})
	return map[string]string{"postgres": pg, "sqlite": "sqlite:" + t.TempDir()}
}

// applyAll runs one operation in every store and returns the results by store.
func (c demoCompany) applyAll(t *testing.T, o connector.Operation) map[string]connector.Result {
	t.Helper()
	out := map[string]connector.Result{}
	for name, s := range c.stores {
		out[name] = must(t)(s.Apply(ctx, o))
	}
	return out
}

func (c demoCompany) count(t *testing.T, store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.dbs[store].QueryRowContext(ctx, rebind(c.driver, query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", store, err)
	}
	return n
}

func (c demoCompany) matches(t *testing.T, email string, answers map[string]string) int {
	t.Helper()
	best := 0
	for _, s := range c.stores {
		if ic := s.Capabilities().IdentityChecker; ic != nil {
			n, err := ic.MatchDataPoints(ctx, email, answers)
			if err != nil {
				t.Fatal(err)
			}
			best = max(best, n)
		}
	}
	return best
}

// The check at the connector level: Ada is in every SQL store; a suppression of
// everything leaves only the order tax law keeps, with its lines, and a new review shows
// exactly that.
func TestDemoPersonIsInEveryStoreAndASuppressionLeavesWhatTheLawKeeps(t *testing.T) {
	ada := demo.Ada()
	for engine, target := range demoTargets(t) {
		t.Run(engine, func(t *testing.T) {
			c := openDemoCompany(t, target)
			if len(c.stores) != 7 {
				t.Fatalf("%d sql stores, want 7", len(c.stores))
			}
			if n := c.matches(t, ada.Email, ada.DataPoints); n < 2 {
				t.Errorf("Ada's data points match %d in the best store, want at least 2", n)
			}
			for name, r := range c.applyAll(t, op("review-1", domain.TypeReview, ada.Email, domain.Details{})) {
				if r.NotFound || len(r.Export) == 0 {
					t.Errorf("review: %s holds nothing on Ada: %+v", name, r)
				}
			}

			suppressed := c.applyAll(t, op("suppress-1", domain.TypeSuppress, ada.Email, suppress()))
			for name, r := range suppressed {
				if len(r.Changed) == 0 {
					t.Errorf("suppression changed nothing in %s", name)
				}
				if name != "webstore" && len(r.Retained) > 0 {
					t.Errorf("%s kept %+v", name, r.Retained)
				}
			}
			kept := suppressed["webstore"].Retained
			if len(kept) != 1 || !strings.Contains(kept[0].What, "DEMO-70002") || !strings.Contains(kept[0].Reason, "17(3)(b)") {
				t.Errorf("webstore kept %+v, want order DEMO-70002 for tax law", kept)
			}

			after := c.applyAll(t, op("review-2", domain.TypeReview, ada.Email, domain.Details{}))
			for name, r := range after {
				if name != "webstore" && !r.NotFound {
					t.Errorf("review after suppression: %s still holds %+v", name, r.Export)
				}
			}
			orders := fmt.Sprint(after["webstore"].Export["orders"])
			if !strings.Contains(orders, "DEMO-70002") || strings.Contains(orders, "DEMO-70001") {
				t.Errorf("orders after suppression: %s", orders)
			}
			if lines, _ := after["webstore"].Export["order_lines"].([]any); len(lines) != 2 {
				t.Errorf("order lines after suppression: %v, want the kept order's 2", lines)
			}
			// The community keeps her posts under a pseudonym: nothing in them names her.
			if n := c.count(t, "community", "SELECT COUNT(*) FROM forum_posts WHERE body = ?", datamap.MaskValue); n != 2 {
				t.Errorf("%d masked forum posts, want Ada's 2", n)
			}
			if n := c.count(t, "community", "SELECT COUNT(*) FROM marketplace_profiles WHERE id = 7 AND display_name <> 'ada_l' AND bio IS NULL"); n != 1 {
				t.Error("Ada's marketplace profile is not pseudonymised")
			}
			// What is kept still proves who she is: the kept order and its billing postcode.
			if n := c.matches(t, ada.Email, ada.DataPoints); n != 2 {
				t.Errorf("after suppression Ada's data points match %d, want 2 (the kept order)", n)
			}
		})
	}
}

func TestAnOrderUnderChargebackDisputeOutlivesItsRetention(t *testing.T) {
	c := openDemoCompany(t, "sqlite:"+t.TempDir())
	r := must(t)(c.stores["webstore"].Apply(ctx, op("s1", domain.TypeSuppress, "carol@example.com", suppress())))
	if len(r.Retained) != 1 || !strings.Contains(r.Retained[0].What, "DEMO-30001") || !strings.Contains(r.Retained[0].Reason, "chargeback") || !r.Retained[0].Until.IsZero() {
		t.Errorf("kept %+v, want DEMO-30001 under legal hold with no end date", r.Retained)
	}
}

// The friend's address belongs to the friend: the sender's review does not show it, and
// the friend finds it under their own address.
func TestEmailAFriendShowsEachPartyOnlyTheirOwnData(t *testing.T) {
	c := openDemoCompany(t, "sqlite:"+t.TempDir())
	s := c.stores["email_a_friend"]
	sender := must(t)(s.Apply(ctx, op("r1", domain.TypeReview, "dave@example.com", domain.Details{})))
	if _, ok := sender.Export["referred_addresses"]; ok || sender.Export["referrals"] == nil {
		t.Errorf("sender's review: %v", sender.Export)
	}
	friend := must(t)(s.Apply(ctx, op("r2", domain.TypeReview, "frank@example.com", domain.Details{})))
	if !slices.Equal(friend.Found, []string{"email_address", "referrals"}) || friend.Export["referrals"] != nil {
		t.Errorf("friend's review: found %v, export %v", friend.Found, friend.Export)
	}
}
