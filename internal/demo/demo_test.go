package demo_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	ctx = context.Background()
	key = []byte("test suppression key, 32 bytes!!")
)

// each runs f on both engines against a freshly seeded store and a second connection to
// the same database, through which the test inspects the rows.
func each(t *testing.T, f func(t *testing.T, s *demo.Store, db *database.DB)) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			s, err := demo.Open(ctx, target.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			if err := s.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			db, err := database.Open(ctx, target.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			f(t, s, db)
		})
	}
}

// dump returns every row of every table, so that two states of the database compare equal.
func dump(t *testing.T, db *database.DB) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for table, order := range map[string]string{"customers": "id", "orders": "order_number", "web_logs": "id",
		"suppression_list": "email_hash", "applied_operations": "request_id, operation"} {
		var rows []map[string]any
		if err := db.Raw(`SELECT * FROM ` + table + ` ORDER BY ` + order).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		out[table] = rows
	}
	return out
}

func count(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Raw(query, args...).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func customer(t *testing.T, db *database.DB, email string) map[string]any {
	t.Helper()
	for _, row := range dump(t, db)["customers"] {
		if row["email"] == email {
			return row
		}
	}
	return nil
}

func must(t *testing.T) func(demo.Result, error) demo.Result {
	return func(r demo.Result, err error) demo.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestSeedTwiceLeavesTheSameRows(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		before := dump(t, db)
		if err := s.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		same(t, "rows after second seed", dump(t, db), before)
		same(t, "customers", len(before["customers"]), len(demo.DemoPeople())+demo.SyntheticPeople)
	})
}

func TestMatchDataPointsCountsNormalisedMatches(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		cases := []struct {
			email   string
			answers map[string]string
			want    int
		}{
			{"alice@example.com", map[string]string{"postal_code": " bs1-4dj ", "phone_last4": "0123", "order_number": "demo 10002"}, 3},
			{" Alice@Example.COM", map[string]string{"postal_code": "BS14DJ", "phone_last4": "9999", "favourite_colour": "blue"}, 1},
			{"alice@example.com", map[string]string{"postal_code": "", "phone_last4": "", "order_number": "DEMO-20001"}, 0},
			{"dave@example.com", map[string]string{"postal_code": "LS1 1AA", "phone_last4": "0456", "order_number": "x"}, 2},
			{"nobody@example.com", map[string]string{"postal_code": "BS1 4DJ"}, 0},
		}
		for _, c := range cases {
			got, err := s.MatchDataPoints(ctx, c.email, c.answers)
			if err != nil || got != c.want {
				t.Errorf("%v: got %d, %v; want %d", c.answers, got, err, c.want)
			}
		}
		for _, p := range demo.DemoPeople() {
			got, err := s.MatchDataPoints(ctx, p.Email, p.DataPoints)
			if err != nil || got != len(p.DataPoints) {
				t.Errorf("%s's own data points: got %d, %v; want %d", p.Name, got, err, len(p.DataPoints))
			}
		}
	})
}

func TestReviewExportsWhatIsHeld(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		r := must(t)(s.Review(ctx, "req-1", " ALICE@example.com "))
		same(t, "found", r.Found, []string{"name", "postal_address", "phone", "title", "occupation", "company",
			"username", "order_history", "payment_card_last4", "server_logs"})
		same(t, "store", r.Store, demo.StoreName)
		c := r.Export["customer"].(map[string]any)
		same(t, "name", c["name"], "Alice Archer")
		same(t, "postal code", c["postal_code"], "BS1 4DJ")
		orders := r.Export["orders"].([]any)
		same(t, "orders", len(orders), 2)
		same(t, "card", orders[0].(map[string]any)["card_last4"], "4242")
		same(t, "web logs", len(r.Export["web_logs"].([]any)), 2)

		r = must(t)(s.Review(ctx, "req-2", "dave@example.com"))
		same(t, "dave found", r.Found, []string{"name", "postal_address", "phone", "occupation", "username", "server_logs"})
	})
}

func TestCorrectChangesExactlyTheNamedColumns(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		before := customer(t, db, "alice@example.com")
		r := must(t)(s.Correct(ctx, "req-1", "alice@example.com", []domain.FieldChange{
			{Field: "name", Value: "Alice Archer-Smith"}, {Field: "company", Value: "Archer Vets"}, {Field: "title", Value: "Dr"}}))
		same(t, "changed", r.Changed, []string{"name", "company"})
		after := customer(t, db, "alice@example.com")
		before["name"], before["company"] = "Alice Archer-Smith", "Archer Vets"
		same(t, "row", after, before)
	})
}

func TestInvalidInputIsRejectedWithoutEchoingIt(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		const typed = "secret@example.org"
		before := dump(t, db)
		for name, err := range map[string]error{
			"correct unknown field":     errOf(s.Correct(ctx, "req-1", "alice@example.com", []domain.FieldChange{{Field: typed, Value: "x"}})),
			"suppress unknown category": errOf(s.Suppress(ctx, "req-1", "alice@example.com", domain.SuppressScope{Categories: []string{typed}}, nil)),
			"suppress all without key":  errOf(s.Suppress(ctx, "req-1", "alice@example.com", domain.SuppressScope{All: true}, nil)),
			"restrict unknown limit":    errOf(s.Restrict(ctx, "req-1", "alice@example.com", []domain.RestrictLimit{typed})),
		} {
			if !errors.Is(err, domain.ErrInvalid) || strings.Contains(err.Error(), typed) {
				t.Errorf("%s: got %v, want ErrInvalid without the input", name, err)
			}
		}
		same(t, "rows", dump(t, db), before)
	})
}

func errOf(_ demo.Result, err error) error { return err }

func TestSuppressAllDeletesRetainsRecentOrdersAndListsTheHash(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		var orderedAt time.Time
		if err := db.Raw(`SELECT ordered_at FROM orders WHERE order_number = 'DEMO-10002'`).Row().Scan(&orderedAt); err != nil {
			t.Fatal(err)
		}
		r := must(t)(s.Suppress(ctx, "req-1", "alice@example.com", domain.SuppressScope{All: true}, key))
		same(t, "changed", r.Changed, []string{"name", "postal_address", "phone", "title", "occupation", "company",
			"username", "order_history", "payment_card_last4", "server_logs"})
		if len(r.Retained) != 1 || !strings.Contains(r.Retained[0].What, "DEMO-10002") ||
			r.Retained[0].Reason != demo.OrderRetentionReason || !r.Retained[0].Until.Equal(orderedAt.AddDate(7, 0, 0)) {
			t.Errorf("retained: got %+v, want DEMO-10002 until %v", r.Retained, orderedAt.AddDate(7, 0, 0))
		}
		same(t, "customers", count(t, db, `SELECT COUNT(*) FROM customers WHERE email = 'alice@example.com'`), 0)
		same(t, "web logs", count(t, db, `SELECT COUNT(*) FROM web_logs WHERE customer_email = 'alice@example.com'`), 0)
		same(t, "old order", count(t, db, `SELECT COUNT(*) FROM orders WHERE order_number = 'DEMO-10001'`), 0)
		same(t, "recent order", count(t, db, `SELECT COUNT(*) FROM orders WHERE order_number = 'DEMO-10002'`), 1)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte("alice@example.com"))
		same(t, "suppression list", count(t, db, `SELECT COUNT(*) FROM suppression_list WHERE email_hash = ?`, hex.EncodeToString(mac.Sum(nil))), 1)
		same(t, "other people", count(t, db, `SELECT COUNT(*) FROM customers`), len(demo.DemoPeople())-1+demo.SyntheticPeople)

		r = must(t)(s.Review(ctx, "req-2", "alice@example.com"))
		same(t, "review after suppress", r.Found, []string{"order_history", "payment_card_last4"})
	})
}

func TestSuppressCategoriesNullsColumnsAndKeepsFlags(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		r := must(t)(s.Suppress(ctx, "req-1", "bob@example.com",
			domain.SuppressScope{Categories: []string{"server_logs", "phone", "postal_address", "cookies"}}, nil))
		same(t, "changed", r.Changed, []string{"postal_address", "phone", "server_logs"})
		row := customer(t, db, "bob@example.com")
		for _, col := range []string{"phone", "postal_address", "postal_code"} {
			same(t, col, row[col], nil)
		}
		same(t, "name", row["name"], "Bob Baker")
		if row["marketing_email_opt_in"] != true && row["marketing_email_opt_in"] != int64(1) {
			t.Errorf("marketing flag: got %v, want true", row["marketing_email_opt_in"])
		}
		same(t, "web logs", count(t, db, `SELECT COUNT(*) FROM web_logs WHERE customer_email = 'bob@example.com'`), 0)
		same(t, "orders", count(t, db, `SELECT COUNT(*) FROM orders WHERE customer_email = 'bob@example.com'`), 1)
		same(t, "suppression list", count(t, db, `SELECT COUNT(*) FROM suppression_list`), 0)
	})
}

func TestRestrictSetsFlagsAndNamesAffiliates(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		all := []domain.RestrictLimit{domain.LimitMarketingEmail, domain.LimitAffiliateSharing, domain.LimitAllProcessing}
		r := must(t)(s.Restrict(ctx, "req-1", "erin@example.com", all))
		same(t, "changed", r.Changed, []string{"marketing_email", "affiliate_sharing", "all_processing"})
		if notes := strings.Join(r.Notes, " "); !strings.Contains(notes, "Smith Micro Software UK Limited") || !strings.Contains(notes, "Smith Micro Software AS") {
			t.Errorf("notes: got %q, want both affiliates", notes)
		}
		same(t, "flags", count(t, db, `SELECT COUNT(*) FROM customers WHERE email = 'erin@example.com'
			AND NOT marketing_email_opt_in AND NOT share_with_affiliates AND processing_restricted`), 1)

		r = must(t)(s.Restrict(ctx, "req-2", "bob@example.com", []domain.RestrictLimit{domain.LimitAffiliateSharing}))
		if len(r.Changed) != 0 || len(r.Notes) != 0 {
			t.Errorf("bob never shared: got %+v, want no change and no notes", r)
		}
	})
}

func TestEveryOperationRunTwiceAppliesOnce(t *testing.T) {
	ops := map[string]func(*demo.Store) (demo.Result, error){
		"review": func(s *demo.Store) (demo.Result, error) { return s.Review(ctx, "req-1", "alice@example.com") },
		"correct": func(s *demo.Store) (demo.Result, error) {
			return s.Correct(ctx, "req-1", "alice@example.com", []domain.FieldChange{{Field: "phone", Value: "+44 117 496 0999"}})
		},
		"suppress": func(s *demo.Store) (demo.Result, error) {
			return s.Suppress(ctx, "req-1", "alice@example.com", domain.SuppressScope{All: true}, key)
		},
		"restrict": func(s *demo.Store) (demo.Result, error) {
			return s.Restrict(ctx, "req-1", "alice@example.com", []domain.RestrictLimit{domain.LimitAffiliateSharing})
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
				first := must(t)(op(s))
				// After a suppression this restores Alice's rows: the retry must still not touch them.
				if err := s.Seed(ctx); err != nil {
					t.Fatal(err)
				}
				restored := dump(t, db)
				same(t, "retry result", must(t)(op(s)), first)
				same(t, "rows after retry", dump(t, db), restored)
			})
		})
	}
}

func TestUnknownPersonIsNotFound(t *testing.T) {
	each(t, func(t *testing.T, s *demo.Store, db *database.DB) {
		const nobody = "nobody@example.com"
		results := []demo.Result{
			must(t)(s.Review(ctx, "req-1", nobody)),
			must(t)(s.Correct(ctx, "req-1", nobody, []domain.FieldChange{{Field: "name", Value: "N"}})),
			must(t)(s.Suppress(ctx, "req-1", nobody, domain.SuppressScope{Categories: []string{"name"}}, nil)),
			must(t)(s.Restrict(ctx, "req-1", nobody, []domain.RestrictLimit{domain.LimitMarketingEmail})),
		}
		for i, r := range results {
			if !r.NotFound || len(r.Found) != 0 || len(r.Changed) != 0 {
				t.Errorf("operation %d: got %+v, want NotFound", i, r)
			}
		}
	})
}
