package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/testenv"
)

// demoPair is two equally seeded demo stores: one run by the hand-written demo connector,
// one by the generic connector built from internal/demo/datamap.yaml.
type demoPair struct {
	demo, generic       connector.Connector
	demoDB, genericDB   *sql.DB
	demoIDs, genericIDs connector.IdentityChecker
}

func openDemo(t *testing.T, url string) (*demo.Store, *sql.DB) {
	t.Helper()
	s, err := demo.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := demo.Connection(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.OpenDB(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, db
}

func newDemoPair(t *testing.T, newURL func(testing.TB) string) demoPair {
	demoStore, demoDB := openDemo(t, newURL(t))
	url := newURL(t)
	_, genericDB := openDemo(t, url)
	// Seed dates orders from the clock; give both stores the very same dates.
	rows, err := demoDB.QueryContext(ctx, "SELECT order_number, ordered_at FROM orders")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var number string
		var at any
		if err := rows.Scan(&number, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := genericDB.ExecContext(ctx, rebind(driverOf(url), "UPDATE orders SET ordered_at = ? WHERE order_number = ?"), at, number); err != nil {
			t.Fatal(err)
		}
	}

	m, err := demo.DataMap()
	if err != nil {
		t.Fatalf("internal/demo/datamap.yaml: %v", err)
	}
	store, ok := m.Store(demo.StoreName)
	if !ok {
		t.Fatalf("datamap.yaml has no store %q", demo.StoreName)
	}
	if store.Connection, err = demo.Connection(url); err != nil {
		t.Fatal(err)
	}
	generic, db, err := sqlstore.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return demoPair{
		demo:    demo.Connector{Store: demoStore, SuppressionKey: []byte("demo suppression key")},
		generic: generic, demoDB: demoDB, genericDB: genericDB,
		demoIDs: demoStore, genericIDs: generic.(connector.IdentityChecker),
	}
}

func driverOf(url string) datamap.Driver {
	if strings.HasPrefix(url, "sqlite:") {
		return datamap.SQLite
	}
	return datamap.Postgres
}

// outcome is what the two connectors must agree on; notes differ (the demo connector keeps
// its own suppression list) and exports are shaped per table.
func outcome(r connector.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "store=%s not_found=%v found=%v changed=%v", r.Store, r.NotFound, r.Found, r.Changed)
	for _, k := range r.Retained {
		fmt.Fprintf(&b, " retained={%s | %s | %s}", k.What, k.Reason, k.Until.UTC())
	}
	return b.String()
}

func TestGenericConnectorReplacesTheDemoConnector(t *testing.T) {
	for name, newURL := range map[string]func(testing.TB) string{"postgres": testenv.PostgresURL, "sqlite": testenv.SQLiteURL} {
		t.Run(name, func(t *testing.T) {
			p := newDemoPair(t, newURL)
			var ops []connector.Operation
			add := func(t domain.RequestType, email string, d domain.Details) {
				ops = append(ops, connector.Operation{RequestID: fmt.Sprintf("req-%d", len(ops)), Type: t, Email: email, Details: d})
			}
			for _, person := range demo.DemoPeople() {
				add(domain.TypeReview, person.Email, domain.Details{})
			}
			add(domain.TypeReview, "nobody@example.com", domain.Details{})
			add(domain.TypeCorrect, "alice@example.com", domain.Details{Changes: []domain.FieldChange{
				{Field: "name", Value: "Alice Archer-Smith"}, {Field: "company", Value: "Archer Vets"}, {Field: "title", Value: "Dr"}}})
			add(domain.TypeUpdate, "dave@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "title", Value: "Mx"}}})
			add(domain.TypeSuppress, "bob@example.com", suppress("server_logs", "phone", "postal_address", "cookies"))
			add(domain.TypeSuppress, "alice@example.com", suppress())
			add(domain.TypeSuppress, "frank@example.com", suppress())
			add(domain.TypeChildErasure, "carol@example.com", domain.Details{Reason: "under 13"})
			add(domain.TypeSuppress, "nobody@example.com", suppress())
			add(domain.TypeRestrict, "erin@example.com", domain.Details{Limits: []domain.RestrictLimit{
				domain.LimitMarketingEmail, domain.LimitAffiliateSharing, domain.LimitAllProcessing}})
			add(domain.TypeRestrict, "bob@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}})
			add(domain.TypeRestrict, "nobody@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitMarketingEmail}})
			for _, email := range []string{"alice@example.com", "bob@example.com", "frank@example.com", "carol@example.com"} {
				add(domain.TypeReview, email, domain.Details{})
			}

			for _, o := range ops {
				want := outcome(must(t)(p.demo.Apply(ctx, o)))
				got := outcome(must(t)(p.generic.Apply(ctx, o)))
				if got != want {
					t.Errorf("%s %s:\n got %s\nwant %s", o.Type, o.Email, got, want)
				}
			}
			same(t, "rows left", demoRows(t, p.genericDB), demoRows(t, p.demoDB))

			for _, person := range demo.DemoPeople() {
				for _, answers := range []map[string]string{person.DataPoints, {"postal_code": " bs1-4dj ", "phone_last4": "0123", "order_number": "demo 10002"}} {
					want, err := p.demoIDs.MatchDataPoints(ctx, person.Email, answers)
					if err != nil {
						t.Fatal(err)
					}
					got, err := p.genericIDs.MatchDataPoints(ctx, person.Email, answers)
					if err != nil || got != want {
						t.Errorf("%s data points %v: got %d, %v; want %d", person.Name, answers, got, err, want)
					}
				}
			}
		})
	}
}

// demoRows is the personal data left in a demo store, without the times that Seed takes
// from the clock.
func demoRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT email, name, postal_address, postal_code, phone, title, occupation, company, username,
			marketing_email_opt_in, share_with_affiliates, processing_restricted FROM customers ORDER BY id`,
		`SELECT order_number, customer_email, ordered_at, total_cents, card_last4 FROM orders ORDER BY order_number`,
		`SELECT customer_email, ip, path FROM web_logs ORDER BY id`,
	} {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		rows.Close()
	}
	return out
}
