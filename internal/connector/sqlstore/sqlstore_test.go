package sqlstore_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

func op(requestID string, t domain.RequestType, email string, d domain.Details) connector.Operation {
	return connector.Operation{RequestID: requestID, Type: t, Email: email, Details: d}
}

func suppress(categories ...string) domain.Details {
	if len(categories) == 0 {
		return domain.Details{Scope: &domain.SuppressScope{All: true}}
	}
	return domain.Details{Scope: &domain.SuppressScope{Categories: categories}}
}

func (s shop) apply(t testing.TB, o connector.Operation) connector.Result {
	t.Helper()
	return must(t)(s.connector.Apply(ctx, o))
}

func TestReviewExportsRowsFoundByNormalisedAddressAndThroughKeys(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		r := s.apply(t, op("req-1", domain.TypeReview, " ADA@example.com", domain.Details{}))
		same(t, "store", r.Store, "shop")
		same(t, "found", r.Found, []string{"name", "postal_address", "phone", "username", "profile",
			"order_history", "payment_card_last4", "server_logs"})
		same(t, "notes", r.Notes, []string{"Card numbers are held by the payment service."})
		for table, n := range map[string]int{"customers": 1, "orders": 2, "order_lines": 3, "visits": 2} {
			same(t, table+" rows", len(r.Export[table].([]any)), n)
		}
		customer := r.Export["customers"].([]any)[0].(map[string]any)
		same(t, "name", customer["full_name"], "Ada Lovelace")
		same(t, "review column", customer["email"], " Ada@Example.COM ")
		if _, ok := customer["share_level"]; ok {
			t.Errorf("exported a column neither PII nor listed for review")
		}

		r = s.apply(t, op("req-2", domain.TypeReview, "cy@example.com", domain.Details{}))
		same(t, "visitor found", r.Found, []string{"server_logs"})
		same(t, "visitor notes", r.Notes, []string(nil))
	})
}

func TestSuppressAllDeletesAndKeepsOrdersInRetentionWithTheirLines(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		placed := s.placedAt(t, "A-NEW")
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ada@example.com", suppress()))
		same(t, "changed", r.Changed, []string{"name", "postal_address", "phone", "username", "profile",
			"order_history", "payment_card_last4", "server_logs"})
		same(t, "retained", r.Retained, []connector.Retention{{
			What:   "order A-NEW of " + placed.Format(time.DateOnly),
			Reason: "Tax law (GDPR Art. 17(3)(b))", Until: placed.AddDate(7, 0, 0), Ref: "orders:A-NEW"}})
		same(t, "customer", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1"), 0)
		same(t, "orders left", s.count(t, "SELECT COUNT(*) FROM orders WHERE number IN ('A-OLD', 'A-NEW')"), 1)
		same(t, "lines left", s.count(t, "SELECT COUNT(*) FROM order_lines WHERE order_number IN ('A-OLD', 'A-NEW')"), 1)
		same(t, "kept line", s.count(t, "SELECT COUNT(*) FROM order_lines WHERE id = 3"), 1)
		same(t, "visits left", s.count(t, "SELECT COUNT(*) FROM visits"), 1)
		same(t, "other customer", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 2"), 1)

		r = s.apply(t, op("req-2", domain.TypeReview, "ada@example.com", domain.Details{}))
		same(t, "review after", r.Found, []string{"order_history", "payment_card_last4"})
	})
}

// A row kept for its own retention keeps the row it is reached through, which the
// suppression would delete, since the kept row would otherwise point at nothing.
func TestARetainedRowKeepsTheRowItIsReachedThrough(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	t.Setenv("LEDGER_DSN", ledger)
	// An empty file is an empty SQLite database; the tables are made through the store.
	if err := os.WriteFile(ledger, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := datamap.Parse("ledger.yaml", []byte(`
stores:
  - name: ledger
    kind: sql
    connection: {driver: sqlite, dsn_env: LEDGER_DSN}
    tables:
      - table: accounts
        identity: email
        primary_key: id
        pii: {full_name: name}
        suppress: {all: delete_row, columns: {full_name: null}}
      - table: invoices
        reached_through: {table: accounts, key: id, column: account_id}
        primary_key: number
        pii: {number: order_history}
        suppress: {columns: {number: delete_row}}
        retention:
          - {column: issued_at, younger_than: 10 years, basis: Bookkeeping law, describe: "invoice {number}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, db, err := sqlstore.Open(ctx, m.Stores[0], sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, stmt := range []string{
		`CREATE TABLE accounts (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, full_name VARCHAR(255))`,
		`CREATE TABLE invoices (number VARCHAR(32) PRIMARY KEY, account_id BIGINT NOT NULL, issued_at TIMESTAMP NOT NULL)`,
		`INSERT INTO accounts VALUES (1, 'ada@example.com', 'Ada Lovelace'), (2, 'ada@example.com', 'Ada L.')`,
	} {
		mustExec(t, db, datamap.SQLite, stmt)
	}
	mustExec(t, db, datamap.SQLite, `INSERT INTO invoices VALUES ('I-1', 1, ?)`, daysAgo(100))
	r := must(t)(c.Apply(ctx, op("req-1", domain.TypeSuppress, "ada@example.com", suppress())))
	same(t, "changed", r.Changed, []string{"name"})
	same(t, "retained", r.Retained, []connector.Retention{{What: "invoice I-1", Reason: "Bookkeeping law",
		Until: daysAgo(100).AddDate(10, 0, 0), Ref: "invoices:I-1"}})
	s := shop{driver: datamap.SQLite, db: db}
	same(t, "kept account", s.count(t, "SELECT COUNT(*) FROM accounts WHERE id = 1"), 1)
	same(t, "other account", s.count(t, "SELECT COUNT(*) FROM accounts WHERE id = 2"), 0)
	same(t, "invoice", s.count(t, "SELECT COUNT(*) FROM invoices"), 1)
}

func TestSuppressCategoriesAppliesEachColumnStrategy(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		placed := s.placedAt(t, "A-NEW")
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ada@example.com", suppress("phone", "postal_address", "payment_card_last4", "cookies")))
		same(t, "changed", r.Changed, []string{"postal_address", "phone", "payment_card_last4"})
		same(t, "retained", r.Retained, []connector.Retention{{
			What:   "order A-NEW of " + placed.Format(time.DateOnly),
			Reason: "Tax law (GDPR Art. 17(3)(b))", Until: placed.AddDate(7, 0, 0), Ref: "orders:A-NEW"}})
		mac := hmac.New(sha256.New, hashKey)
		mac.Write([]byte("+44 20 7946 0001"))
		same(t, "hashed phone", s.value(t, "SELECT phone FROM customers WHERE id = 1"), hex.EncodeToString(mac.Sum(nil)))
		same(t, "masked zip", s.value(t, "SELECT zip FROM customers WHERE id = 1"), datamap.MaskValue)
		same(t, "name kept", s.value(t, "SELECT full_name FROM customers WHERE id = 1"), "Ada Lovelace")
		same(t, "old card", s.value(t, "SELECT card_last4 FROM orders WHERE number = 'A-OLD'"), nil)
		same(t, "retained card", s.value(t, "SELECT card_last4 FROM orders WHERE number = 'A-NEW'"), "4242")
		same(t, "visits kept", s.count(t, "SELECT COUNT(*) FROM visits WHERE email = 'ada@example.com'"), 2)
	})
}

func TestLegalHoldKeepsRowsFromSuppressionAndCorrection(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		before := s.dump(t)
		placed := s.placedAt(t, "B-1")
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ben@example.com", suppress()))
		same(t, "changed", r.Changed, []string(nil))
		same(t, "retained", r.Retained, []connector.Retention{
			{What: "customers 2", Reason: datamap.DefaultLegalHoldBasis, Ref: "customers:2"},
			{What: "order B-1 of " + placed.Format(time.DateOnly), Reason: "Disputed order under legal claim", Ref: "orders:B-1"}})

		r = s.apply(t, op("req-2", domain.TypeCorrect, "ben@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "name", Value: "Ben Free"}}}))
		same(t, "correct changed", r.Changed, []string(nil))
		same(t, "correct retained", r.Retained, []connector.Retention{{What: "customers 2", Reason: datamap.DefaultLegalHoldBasis, Ref: "customers:2"}})
		same(t, "rows", s.dump(t), before)
	})
}

func TestCorrectChangesOnlyFieldsThatDiffer(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		r := s.apply(t, op("req-1", domain.TypeUpdate, "ada@example.com", domain.Details{Changes: []domain.FieldChange{
			{Field: "phone", Value: "+44 20 7946 0001"}, {Field: "name", Value: " Ada King "}, {Field: "postal_address", Value: "NW1 2DB"},
			{Field: "title", Value: "Countess"}}}))
		same(t, "changed", r.Changed, []string{"name"})
		same(t, "name", s.value(t, "SELECT full_name FROM customers WHERE id = 1"), "Ada King")
		same(t, "phone", s.value(t, "SELECT phone FROM customers WHERE id = 1"), "+44 20 7946 0001")
	})
}

func TestCorrectReportsTheValuesItReplaced(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		oldName := s.value(t, "SELECT full_name FROM customers WHERE id = 1")
		o := op("req-1", domain.TypeCorrect, "ada@example.com", domain.Details{Changes: []domain.FieldChange{
			{Field: "name", Value: "Ada King"}, {Field: "phone", Value: "+44 20 7946 0001"}}})
		r := s.apply(t, o)
		same(t, "before", r.Before, []connector.PriorValue{{Table: "customers", Field: "name", Value: oldName}})
		// A retry returns the recorded result, old values included, and changes nothing.
		same(t, "before on retry", s.apply(t, o).Before, r.Before)
		// The store's bookkeeping keeps the old value only sealed.
		same(t, "old value in clear", s.count(t, "SELECT COUNT(*) FROM dsr_applied_operations WHERE result LIKE ?", "%"+fmt.Sprintf("%s", oldName)+"%"), 0)
	})
}

func TestRestrictSetsFlagsOnceAndNamesAffiliates(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		r := s.apply(t, op("req-1", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: []domain.RestrictLimit{
			domain.LimitMarketingEmail, domain.LimitAffiliateSharing, domain.LimitAllProcessing, domain.LimitMarketingEmail}}))
		same(t, "changed", r.Changed, []string{"marketing_email", "affiliate_sharing", "all_processing"})
		same(t, "notes", r.Notes, []string{
			"Sharing with affiliates stopped on " + now.Format(time.DateOnly) + ". These affiliates had already received data and are not bound to remove it: Shop Affiliate AB.",
			"Processing is restricted: the data is only stored until the restriction is lifted (GDPR Art. 18)."})
		same(t, "flags", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1 AND newsletter = ? AND share_level = 0 AND restricted = ?", false, true), 1)

		r = s.apply(t, op("req-2", domain.TypeRestrict, "ben@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}}))
		same(t, "nothing to stop", []any{r.Changed, r.Notes}, []any{[]string(nil), []string(nil)})
	})
}

func TestLiftSetsFlagsBackOnceAndSaysSo(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		all := []domain.RestrictLimit{domain.LimitMarketingEmail, domain.LimitAffiliateSharing, domain.LimitAllProcessing}
		s.apply(t, op("req-1", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: all}))
		lift := op("req-2", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: all, Lift: true})
		r := s.apply(t, lift)
		same(t, "changed", r.Changed, []string{"lifted:marketing_email", "lifted:affiliate_sharing", "lifted:all_processing"})
		same(t, "notes", r.Notes, []string{
			"Sharing with affiliates allowed again from " + now.Format(time.DateOnly) + ".",
			"The restriction of processing was lifted on " + now.Format(time.DateOnly) + " (GDPR Art. 18(3))."})
		// newsletter is a bool flag, lifted by its opposite; share_level by the map's lifted value.
		same(t, "flags", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1 AND newsletter = ? AND share_level = 2 AND restricted = ?", true, false), 1)
		same(t, "a retry", s.apply(t, lift).Changed, r.Changed)
		again := s.apply(t, op("req-3", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: all, Lift: true}))
		same(t, "nothing left to lift", []any{again.Changed, again.Notes}, []any{[]string(nil), []string(nil)})
	})
}

func TestLiftOfAFlagWithoutALiftedValueIsRefused(t *testing.T) {
	noLift := func(s *datamap.Store) {
		for i, f := range s.Tables[0].Restrict {
			if f.Limit == domain.LimitAffiliateSharing {
				s.Tables[0].Restrict[i].Lifted, s.Tables[0].Restrict[i].CanLift = nil, false
			}
		}
	}
	eachShopWith(t, noLift, func(t *testing.T, s shop) {
		before := s.dump(t)
		_, err := s.connector.Apply(ctx, op("req-1", domain.TypeRestrict, "ada@example.com",
			domain.Details{Limits: []domain.RestrictLimit{domain.LimitMarketingEmail, domain.LimitAffiliateSharing}, Lift: true}))
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "share_level") {
			t.Fatalf("lift without a lifted value = %v, want ErrInvalid naming the column", err)
		}
		same(t, "store untouched", s.dump(t), before)
	})
}

// A recipient with disclosed_when is reported as having received the person's data only
// when their rows say so, judged before the request changes them, with the earliest date a
// since column gives.
func TestResultNamesTheRecipientsThePersonsDataWentTo(t *testing.T) {
	edit := func(s *datamap.Store) {
		s.Recipients[0].DisclosedWhen = &datamap.Disclosure{Table: "customers", Column: "share_level"}
		s.Recipients[1].DisclosedWhen = &datamap.Disclosure{Table: "orders", Since: "placed_at"}
	}
	eachShopWith(t, edit, func(t *testing.T, s shop) {
		names := func(r connector.Result) []string {
			var out []string
			for _, d := range r.DisclosedTo {
				out = append(out, d.Recipient)
			}
			return out
		}
		limits := domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}}
		ada := s.apply(t, op("req-1", domain.TypeRestrict, "ada@example.com", limits))
		if same(t, "ada's recipients", names(ada), []string{"Shop Affiliate AB", "Parcel Co"}); t.Failed() {
			return
		}
		same(t, "affiliate's since", ada.DisclosedTo[0].Since.IsZero(), true)
		if got := ada.DisclosedTo[1].Since; !got.Equal(daysAgo(3000)) {
			t.Errorf("parcel company's since = %v, want the first order's date %v", got, daysAgo(3000))
		}
		same(t, "sharing stopped", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1 AND share_level = 0"), 1)
		same(t, "a retry's recipients", s.apply(t, op("req-1", domain.TypeRestrict, "ada@example.com", limits)).DisclosedTo, ada.DisclosedTo)

		// Ben's sharing is off and he has an order; cy has visits only.
		same(t, "ben's recipients", names(s.apply(t, op("req-2", domain.TypeRestrict, "ben@example.com", limits))), []string{"Parcel Co"})
		same(t, "cy's recipients", names(s.apply(t, op("req-3", domain.TypeSuppress, "cy@example.com", domain.Details{}))), []string(nil))

		// A suppression reports the recipients from the rows it then erases.
		gone := s.apply(t, op("req-4", domain.TypeSuppress, "ada@example.com", domain.Details{}))
		same(t, "recipients of an erasure", names(gone), []string{"Parcel Co"})
		same(t, "review after", names(s.apply(t, op("req-5", domain.TypeReview, "ada@example.com", domain.Details{}))), []string{"Parcel Co"})
	})
}

func TestUnknownPersonIsNotFound(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		before := s.dump(t)
		for _, o := range []connector.Operation{
			op("req-1", domain.TypeReview, "nobody@example.com", domain.Details{}),
			op("req-1", domain.TypeCorrect, "nobody@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "name", Value: "N"}}}),
			op("req-1", domain.TypeSuppress, "nobody@example.com", suppress()),
			op("req-1", domain.TypeRestrict, "nobody@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitMarketingEmail}}),
		} {
			r := s.apply(t, o)
			if !r.NotFound || len(r.Found) != 0 || len(r.Changed) != 0 {
				t.Errorf("%s: got %+v, want NotFound", o.Type, r)
			}
		}
		same(t, "rows", s.dump(t), before)
	})
}

func TestInvalidInputIsRejectedWithoutEchoingIt(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		const typed = "secret@example.org"
		before := s.dump(t)
		for name, d := range map[string]connector.Operation{
			"empty value":    op("req-1", domain.TypeCorrect, "ada@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "name", Value: " "}}}),
			"empty scope":    op("req-1", domain.TypeSuppress, "ada@example.com", domain.Details{Scope: &domain.SuppressScope{}}),
			"unknown limit":  op("req-1", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: []domain.RestrictLimit{typed}}),
			"no address":     op("req-1", domain.TypeReview, " ", domain.Details{}),
			"not an address": op("req-1", domain.TypeSuppress, "Ada <"+typed+">", suppress()),
			"no request":     op("", domain.TypeReview, "ada@example.com", domain.Details{}),
		} {
			_, err := s.connector.Apply(ctx, d)
			if !errors.Is(err, domain.ErrInvalid) || strings.Contains(err.Error(), typed) {
				t.Errorf("%s: got %v, want ErrInvalid without the input", name, err)
			}
		}
		same(t, "rows", s.dump(t), before)
	})
}

// Intake accepts the categories of every data map, so a store meets names that only
// another map defines: they are not held here, and change nothing.
func TestNamesAnotherMapDefinesChangeNothing(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		before := s.dump(t)
		for _, o := range []connector.Operation{
			op("req-1", domain.TypeCorrect, "ada@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "shoe_size", Value: "7"}}}),
			op("req-1", domain.TypeSuppress, "ada@example.com", suppress("shoe_size")),
		} {
			r := s.apply(t, o)
			if len(r.Changed) != 0 || r.NotFound {
				t.Errorf("%s: got %+v, want found and nothing changed", o.Type, r)
			}
		}
		same(t, "rows", s.dump(t), before)
	})
}

func TestMatchDataPointsCountsNormalisedMatches(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		checker := s.connector.Capabilities().IdentityChecker
		if checker == nil {
			t.Fatal("a store with identity data points checks no identities")
		}
		for _, c := range []struct {
			email   string
			answers map[string]string
			want    int
		}{
			{"ada@example.com", map[string]string{"postal_code": "nw1-2db", "phone_last4": "0001", "order_number": "a new"}, 3},
			{" ADA@example.com", map[string]string{"postal_code": "NW1 2DB", "phone_last4": "9999", "shoe_size": "7"}, 1},
			{"ada@example.com", map[string]string{"postal_code": "", "order_number": "B-1"}, 0},
			{"cy@example.com", map[string]string{"postal_code": "NW1 2DB"}, 0},
			{"Ada <ada@example.com>", map[string]string{"postal_code": "NW1 2DB"}, 0},
		} {
			got, err := checker.MatchDataPoints(ctx, c.email, c.answers)
			if err != nil || got != c.want {
				t.Errorf("%v: got %d, %v; want %d", c.answers, got, err, c.want)
			}
		}
	})
}

func TestStoreWithoutDataPointsHasNoIdentityChecker(t *testing.T) {
	store := shopStore(t, datamap.Connection{Driver: datamap.SQLite})
	store.DataPoints = nil
	if sqlstore.New(store, nil).Capabilities().IdentityChecker != nil {
		t.Error("got an IdentityChecker, want none")
	}
}

func TestHashStrategyNeedsAKey(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		c := sqlstore.New(s.store, s.db)
		_, err := c.Apply(ctx, op("req-1", domain.TypeSuppress, "ada@example.com", suppress("phone")))
		if err == nil || !strings.Contains(err.Error(), "WithHashKey") {
			t.Errorf("got %v, want an error asking for the hash key", err)
		}
	})
}

// Every change operation, applied twice with the same request ID, changes the rows once
// and returns the first result, even when the rows were put back in between.
func TestEveryOperationRunTwiceAppliesOnce(t *testing.T) {
	ops := map[string]connector.Operation{
		"correct":  op("req-1", domain.TypeCorrect, "ada@example.com", domain.Details{Changes: []domain.FieldChange{{Field: "phone", Value: "+44 20 7946 0999"}}}),
		"suppress": op("req-1", domain.TypeSuppress, "ada@example.com", suppress()),
		"child":    op("req-1", domain.TypeChildErasure, "ada@example.com", domain.Details{Reason: "under 13"}),
		"restrict": op("req-1", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitAllProcessing}}),
	}
	eachShop(t, func(t *testing.T, s shop) {
		for name, o := range ops {
			t.Run(name, func(t *testing.T) {
				seedShop(t, s.db, s.driver)
				o.RequestID = "req-" + name
				first := s.apply(t, o)
				if len(first.Changed) == 0 {
					t.Fatalf("first run changed nothing: %+v", first)
				}
				seedShop(t, s.db, s.driver) // a retry must not touch the restored rows
				restored := s.dump(t)
				same(t, "retry result", s.apply(t, o), first)
				same(t, "rows after retry", s.dump(t), restored)
			})
		}
	})
}

func TestConcurrentRunsOfOneOperationApplyItOnce(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		o := op("req-1", domain.TypeSuppress, "ada@example.com", suppress())
		results := make([]connector.Result, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i], errs[i] = s.connector.Apply(ctx, o) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		same(t, "results", results[1], results[0])
		same(t, "bookkeeping", s.count(t, "SELECT COUNT(*) FROM dsr_applied_operations WHERE request_id = 'req-1'"), 1)
		same(t, "customer", s.count(t, "SELECT COUNT(*) FROM customers WHERE id = 1"), 0)
	})
}

func TestRequestTypesAreRecordedSeparately(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		s.apply(t, op("req-1", domain.TypeRestrict, "ada@example.com", domain.Details{Limits: []domain.RestrictLimit{domain.LimitAllProcessing}}))
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ada@example.com", suppress("server_logs")))
		same(t, "suppress after restrict", r.Changed, []string{"server_logs"})
		same(t, "bookkeeping", s.count(t, "SELECT COUNT(*) FROM dsr_applied_operations"), 2)
	})
}

func TestOpenAllOpensEverySQLStoreWithItsDSNFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DSR_TEST_SHOP_DSN", dir+"/shop.db")
	m, err := datamap.Parse("map.yaml", []byte(`
stores:
  - name: shop
    kind: sql
    connection: {driver: sqlite, dsn_env: DSR_TEST_SHOP_DSN}
    tables:
      - {table: visits, identity: email, primary_key: id, pii: {ip: server_logs}, suppress: {columns: {ip: delete_row}}}
  - name: archive
    kind: manual
`))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.OpenDB(ctx, datamap.Connection{Driver: datamap.SQLite, DSN: dir + "/shop.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, datamap.SQLite, "CREATE TABLE visits (id INTEGER PRIMARY KEY, email TEXT NOT NULL, ip TEXT)")
	conns, closeAll, err := sqlstore.OpenAll(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	same(t, "connectors", len(conns), 1)
	if _, err := conns[0].Apply(ctx, op("req-1", domain.TypeReview, "a@example.com", domain.Details{})); err != nil {
		t.Errorf("review: %v", err)
	}

	t.Setenv("DSR_TEST_SHOP_DSN", "")
	if _, _, err := sqlstore.OpenAll(ctx, m); err == nil || !strings.Contains(err.Error(), "DSR_TEST_SHOP_DSN") {
		t.Errorf("unset DSN: got %v, want an error naming the variable", err)
	}
}

// A record kept for its retention period is erased, with the rows reached through it, once
// the period has passed; before then, or under a legal hold, it stays. A second purge is a
// no-op.
func TestPurgeErasesARetainedRecordOnlyAfterItsPeriod(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ada@example.com", suppress()))
		kept := r.Retained[0]
		purger := s.connector.Capabilities().Purger
		early, err := purger.Purge(ctx, kept.Ref)
		if err != nil || early.Purged || !early.HeldUntil.Equal(kept.Until) {
			t.Fatalf("purge before the end: %+v, %v; want held until %s", early, err, kept.Until)
		}
		later, ldb, err := sqlstore.Open(ctx, s.store, sqlstore.WithClock(func() time.Time { return kept.Until.Add(time.Hour) }), sqlstore.WithHashKey(hashKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ldb.Close() })
		for range 2 {
			out, err := later.Capabilities().Purger.Purge(ctx, kept.Ref)
			if err != nil || !out.Purged {
				t.Fatalf("purge after the end: %+v, %v", out, err)
			}
		}
		same(t, "order left", s.count(t, "SELECT COUNT(*) FROM orders WHERE number = 'A-NEW'"), 0)
		same(t, "its lines left", s.count(t, "SELECT COUNT(*) FROM order_lines WHERE order_number = 'A-NEW'"), 0)
		same(t, "other orders", s.count(t, "SELECT COUNT(*) FROM orders WHERE number = 'B-1'"), 1)
	})
}

func TestPurgeWaitsWhileALegalHoldLasts(t *testing.T) {
	eachShop(t, func(t *testing.T, s shop) {
		r := s.apply(t, op("req-1", domain.TypeSuppress, "ben@example.com", suppress()))
		var held connector.Retention
		for _, k := range r.Retained {
			if k.Ref == "orders:B-1" {
				held = k
			}
		}
		out, err := s.connector.Capabilities().Purger.Purge(ctx, held.Ref)
		if err != nil || out.Purged || !out.LegalHold {
			t.Fatalf("purge under hold: %+v, %v", out, err)
		}
		mustExec(t, s.db, s.driver, "UPDATE orders SET on_hold = ? WHERE number = ?", false, "B-1")
		far, fdb, err := sqlstore.Open(ctx, s.store, sqlstore.WithClock(func() time.Time { return now.AddDate(8, 0, 0) }), sqlstore.WithHashKey(hashKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fdb.Close() })
		if out, err := far.Capabilities().Purger.Purge(ctx, held.Ref); err != nil || !out.Purged {
			t.Fatalf("purge once the hold is lifted and the period over: %+v, %v", out, err)
		}
		same(t, "order left", s.count(t, "SELECT COUNT(*) FROM orders WHERE number = 'B-1'"), 0)
	})
}
