package sqlstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// wishlistsEntry is a table found by the address that also points at customers by foreign
// key, listed before customers: the data map's order alone would delete the customer first
// and trip the constraint. A wish may point at the wish it was copied from, a circle the
// plan reports (none of the fixture's wishes is a copy: deleting a circle is not ordered).
const wishlistsEntry = `      - table: wishlists
        identity: email
        primary_key: id
        pii: {item: profile}
        suppress: {columns: {item: delete_row}}
`

func withWishlists(t testing.TB) func(*datamap.Store) {
	return func(s *datamap.Store) {
		m, err := datamap.Parse("shop.yaml", []byte(strings.Replace(shopMap, "      - table: customers\n", wishlistsEntry+"      - table: customers\n", 1)))
		if err != nil {
			t.Fatal(err)
		}
		conn := s.Connection
		*s = m.Stores[0]
		s.Connection = conn
	}
}

func createWishlists(t testing.TB, s shop) {
	t.Helper()
	mustExec(t, s.db, s.driver, `CREATE TABLE wishlists (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, customer_id BIGINT NOT NULL,
		copied_from BIGINT, item VARCHAR(255) NOT NULL,
		FOREIGN KEY (customer_id) REFERENCES customers (id), FOREIGN KEY (copied_from) REFERENCES wishlists (id))`)
	mustExec(t, s.db, s.driver, `INSERT INTO wishlists (id, email, customer_id, copied_from, item) VALUES (1, 'ada@example.com', 1, NULL, 'Loom'), (2, 'ada@example.com', 1, NULL, 'Lamp')`)
}

func (s shop) plan(t testing.TB, o connector.Operation) connector.ChangePlan {
	t.Helper()
	planner := s.connector.Capabilities().Planner
	if planner == nil {
		t.Fatal("a sql store has no planner")
	}
	p, err := planner.Plan(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tableChange(t testing.TB, p connector.ChangePlan, table string) connector.TableChange {
	t.Helper()
	for _, tc := range p.Tables {
		if tc.Table == table {
			return tc
		}
	}
	t.Fatalf("plan has no table %s", table)
	return connector.TableChange{}
}

func TestASuppressionAcrossForeignKeysAppliesInTheOrderTheCatalogGives(t *testing.T) {
	eachShopWith(t, withWishlists(t), func(t *testing.T, s shop) {
		createWishlists(t, s)
		before := s.dump(t)
		o := op("req-1", domain.TypeSuppress, "ada@example.com", suppress())
		p := s.plan(t, o)
		same(t, "rows after planning", s.dump(t), before)

		same(t, "order", p.Order, []string{"visits", "order_lines", "orders", "wishlists", "customers"})
		same(t, "cycles", p.Cycles, [][]string{{"wishlists"}})
		wishes := tableChange(t, p, "wishlists")
		same(t, "wishes matched", len(wishes.Rows), 2)
		same(t, "wishes deleted", wishes.Deleted, 2)
		same(t, "wish columns", wishes.Columns, []connector.ColumnChange{{Column: "item", Action: connector.ActionDelete, Rows: 2}})
		orders := tableChange(t, p, "orders")
		same(t, "orders", []int{len(orders.Rows), orders.Deleted, orders.Kept}, []int{2, 1, 1})
		same(t, "kept", len(p.Retained), 1)

		o.Plan = &p
		r := s.apply(t, o)
		same(t, "retained as planned", r.Retained, p.Retained)
		same(t, "wishes left", s.count(t, "SELECT COUNT(*) FROM wishlists"), 0)
		same(t, "customer left", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1"), 0)
	})
}

func TestACorrectionPlanSaysWhichColumnsAreSet(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		p := s.plan(t, op("req-1", domain.TypeCorrect, "ada@example.com",
			domain.Details{Changes: []domain.FieldChange{{Field: "postal_address", Value: "SW1A 1AA"}}}))
		same(t, "customer columns", tableChange(t, p, "customers").Columns,
			[]connector.ColumnChange{{Column: "zip", Action: connector.ActionSet, Rows: 1}})
		same(t, "orders untouched", tableChange(t, p, "orders").Columns, []connector.ColumnChange(nil))
		same(t, "rows changed", p.Changes(), 1)
	})
}

func TestRowsThatDifferFromThePlanStopTheApplyAndChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change string
		want   []connector.PlanDifference
	}{
		{"a row added", `INSERT INTO visits (id, email, ip) VALUES (9, 'ada@example.com', '192.0.2.9')`,
			[]connector.PlanDifference{{Table: "visits", Added: 1}}},
		{"a row changed", `UPDATE customers SET zip = 'N1 9GU' WHERE id = 1`,
			[]connector.PlanDifference{{Table: "customers", Changed: 1}}},
		{"a row gone", `DELETE FROM visits WHERE id = 2`,
			[]connector.PlanDifference{{Table: "visits", Gone: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachShop(t, func(t *testing.T, s shop) {
				o := op("req-1", domain.TypeSuppress, "ada@example.com", suppress())
				p := s.plan(t, o)
				mustExec(t, s.db, s.driver, tc.change)
				before := s.dump(t)

				o.Plan = &p
				_, err := s.connector.Apply(ctx, o)
				var stale *connector.StalePlanError
				if !errors.As(err, &stale) || !errors.Is(err, connector.ErrPlanStale) {
					t.Fatalf("apply against a stale plan: %v", err)
				}
				same(t, "differences", stale.Differences, tc.want)
				same(t, "rows after the refused apply", s.dump(t), before)
				if strings.Contains(err.Error(), "ada") || strings.Contains(err.Error(), "192.0.2") {
					t.Errorf("the difference quotes a value: %v", err)
				}

				fresh := s.plan(t, op("req-1", domain.TypeSuppress, "ada@example.com", suppress()))
				o.Plan = &fresh
				s.apply(t, o)
				same(t, "customer after a fresh plan", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1"), 0)
			})
		})
	}
}

func TestAReviewHasNothingToPlan(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		_, err := s.connector.Capabilities().Planner.Plan(ctx, op("req-1", domain.TypeReview, "ada@example.com", domain.Details{}))
		if !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("plan of a review: %v", err)
		}
	})
}

// The same rows can meet another fate than planned: a retention period that ends between
// the plan and the apply would delete a record the analyst read as kept.
func TestARetentionThatEndsAfterThePlanStopsTheApply(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		o := op("req-1", domain.TypeSuppress, "ada@example.com", suppress())
		p := s.plan(t, o)
		later, db, err := sqlstore.Open(ctx, s.store, sqlstore.WithClock(func() time.Time { return now.AddDate(7, 0, 0) }),
			sqlstore.WithHashKey(hashKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		before := s.dump(t)
		o.Plan = &p
		_, err = later.Apply(ctx, o)
		var stale *connector.StalePlanError
		if !errors.As(err, &stale) {
			t.Fatalf("apply after the retention ended: %v", err)
		}
		same(t, "differences", stale.Differences, []connector.PlanDifference{{Table: "orders", Redecided: true}, {Table: "order_lines", Redecided: true}})
		same(t, "rows", s.dump(t), before)
	})
}
