package datamap_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

func valid(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, data []byte) *datamap.Map {
	t.Helper()
	m, err := datamap.Parse("valid.yaml", data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestParseReadsEveryPartOfASQLStore(t *testing.T) {
	m := parse(t, valid(t))
	same(t, "stores", len(m.Stores), 3)
	crm := m.Stores[0]
	same(t, "name and kind", []any{crm.Name, crm.Kind, crm.Line}, []any{"crm", datamap.KindSQL, 6})
	same(t, "connection", crm.Connection, datamap.Connection{Driver: datamap.Postgres, DSNEnv: "CRM_DSN"})
	same(t, "bookkeeping table", crm.BookkeepingTable, datamap.DefaultBookkeepingTable)
	same(t, "data points", crm.DataPoints, []datamap.DataPoint{
		{Name: "postal_code", Table: "customers", Column: "zip", Match: datamap.MatchExact, Line: 12},
		{Name: "phone_last4", Table: "customers", Column: "phone", Match: datamap.MatchLast4, Line: 13}})

	customers := crm.Tables[0]
	same(t, "customers", customers, datamap.Table{
		Name: "customers", Line: 23, PrimaryKey: "id", Identity: "email",
		PII: []datamap.Column{{"full_name", "name"}, {"zip", "postal_address"}, {"phone", "phone"},
			{"nick", "nickname"}, {"points", "loyalty_points"}},
		Review:  datamap.Review{Columns: []string{"email", "created_at"}, Notes: []string{"Cards are held by the payment service."}},
		Correct: []datamap.Correction{{Field: "name", Column: "full_name"}, {Field: "nickname", Column: "nick"}},
		Suppress: datamap.Suppress{All: datamap.DeleteRow, Columns: map[string]datamap.Strategy{
			"full_name": datamap.Null, "zip": datamap.Mask, "phone": datamap.Hash, "nick": datamap.Null, "points": datamap.DeleteRow}},
		Restrict: []datamap.Flag{
			// A bool flag is lifted by its opposite; another only by the value the map gives.
			{Limit: domain.LimitMarketingEmail, Column: "newsletter", Value: false, Lifted: true, CanLift: true},
			{Limit: domain.LimitAllProcessing, Column: "restricted_at", Value: "now"},
			{Limit: domain.LimitAffiliateSharing, Column: "share_level", Value: int64(0), Lifted: int64(1), CanLift: true}},
		LegalHold: &datamap.LegalHold{Column: "on_hold", Basis: datamap.DefaultLegalHoldBasis},
		// Where each column is first named, for a check against the database to point at.
		Lines: map[string]int{"email": 24, "id": 25, "full_name": 27, "zip": 28, "phone": 29, "nick": 30, "points": 31,
			"created_at": 33, "newsletter": 47, "restricted_at": 48, "share_level": 49, "on_hold": 50},
	})

	orders := crm.Tables[1]
	same(t, "orders identity", []any{orders.Name, orders.Identity, orders.IdentityNormalised}, []any{"sales.orders", "buyer_email", true})
	same(t, "retention", orders.Retention, []datamap.RetentionRule{
		{Column: "placed_at", Period: datamap.Period{Years: 7}, Basis: "Tax law (GDPR Art. 17(3)(b))", Describe: "order {number} of {placed_at}", Line: 59},
		{Column: "disputed_at", Period: datamap.Period{Years: 1, Months: 6}, Basis: "Legal claims (GDPR Art. 17(3)(e))", Line: 63}})
	same(t, "legal hold", orders.LegalHold, &datamap.LegalHold{Column: "litigation", Basis: "Court order 12/34"})
	same(t, "order lines link", crm.Tables[2].ReachedThrough, &datamap.Link{Table: "sales.orders", Key: "number", Column: "order_number"})
	same(t, "a link's key and column are where the link names them",
		[]int{crm.Tables[2].Lines["number"], crm.Tables[2].Lines["order_number"]}, []int{crm.Tables[2].Line + 1, crm.Tables[2].Line + 1})
	same(t, "a column named several times is at its first mention", orders.Lines["number"], 53)
}

func TestParseReadsHTTPAndManualStores(t *testing.T) {
	m := parse(t, valid(t))
	http, manual := m.Stores[1], m.Stores[2]
	same(t, "http", []any{http.Kind, http.Connection, http.Holds}, []any{datamap.KindHTTP,
		datamap.Connection{URL: "https://newsletter.example/dsr", KeyID: "k1", SecretEnv: "NEWSLETTER_SECRET"},
		[]string{"name", "loyalty_points"}})
	same(t, "manual", []any{manual.Kind, manual.Instructions, manual.Holds}, []any{datamap.KindManual,
		"Search the archive boxes by name.", []string{"postal_address"}})
}

func TestDeclaredCategoriesFollowTheDefaults(t *testing.T) {
	m := parse(t, valid(t))
	want := append(domain.DefaultCategories(), domain.Category{Name: "loyalty_points"}, domain.Category{Name: "nickname", Correctable: true})
	same(t, "categories", m.Categories, want)
	same(t, "store categories", m.Stores[0].Categories, want)
}

func TestRecipientsAreListedPerStore(t *testing.T) {
	m := parse(t, valid(t))
	same(t, "recipients", m.Recipients(), []datamap.Recipient{
		{Store: "crm", Name: "Example Affiliate Ltd", Relation: datamap.Affiliate, Email: "privacy@affiliate.example", Line: 15},
		{Store: "crm", Name: "Mailer Inc", Relation: datamap.ServiceProvider, Webhook: "https://mailer.example/dsr", Categories: []string{"name"}, Line: 18},
		{Store: "newsletter-service", Name: "Newsletter Partner", Relation: datamap.ThirdParty, Email: "dpo@partner.example", Line: 82},
	})
	crm, _ := m.Store("crm")
	same(t, "affiliates", len(crm.RecipientsOf(datamap.Affiliate)), 1)
}

func TestAWebhookRecipientNamesTheKeyItsNoticesAreSignedWith(t *testing.T) {
	m := parse(t, variant(t, "webhook: https://mailer.example/dsr\n", "webhook: https://mailer.example/dsr\n        key_id: mailer-2026\n        secret_env: MAILER_NOTICE_KEY\n"))
	r := m.Recipients()[1]
	if r.Name != "Mailer Inc" || r.KeyID != "mailer-2026" || r.SecretEnv != "MAILER_NOTICE_KEY" {
		t.Errorf("recipient = %+v", r)
	}
}

// A recipient's disclosed_when says how its store tells whether a person's data went to
// it: columns of a sql table, or the store's own report.
func TestARecipientSaysHowItsStoreTellsWhetherItReceivedThePersonsData(t *testing.T) {
	m := parse(t, variant(t,
		"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        disclosed_when: {table: customers, column: share_level, since: shared_at}\n",
		"categories: [name]\n", "categories: [name]\n        disclosed_when: {table: sales.orders, since: passed_on_at}\n",
		"email: dpo@partner.example\n", "email: dpo@partner.example\n        disclosed_when: reported\n"))
	got := map[string]*datamap.Disclosure{}
	for _, r := range m.Recipients() {
		got[r.Name] = r.DisclosedWhen
	}
	same(t, "disclosures", got, map[string]*datamap.Disclosure{
		"Example Affiliate Ltd": {Table: "customers", Column: "share_level", Since: "shared_at"},
		"Mailer Inc":            {Table: "sales.orders", Since: "passed_on_at"},
		"Newsletter Partner":    {Reported: true},
	})
	if m := parse(t, valid(t)); m.Recipients()[0].DisclosedWhen != nil {
		t.Errorf("a recipient without disclosed_when has %+v, want nil: told whenever the store holds data", m.Recipients()[0].DisclosedWhen)
	}
}

// variant returns the valid map with old replaced by new; old must occur exactly once.
func variant(t *testing.T, edits ...string) []byte {
	t.Helper()
	s := string(valid(t))
	for i := 0; i+1 < len(edits); i += 2 {
		if n := strings.Count(s, edits[i]); n != 1 {
			t.Fatalf("%q occurs %d times in the valid map", edits[i], n)
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return []byte(s)
}

func TestEachMistakeIsReportedWithFileAndLine(t *testing.T) {
	cases := []struct {
		name  string
		edits []string
		want  string
	}{
		{"unknown suppress strategy", []string{"zip: mask", "zip: erase"},
			`valid.yaml:42: store "crm": table "customers": unknown suppress strategy "erase", want delete_row, null, mask or hash`},
		{"unknown category", []string{"phone: phone\n", "phone: telephone\n"},
			`valid.yaml:29: store "crm": table "customers": unknown category "telephone" (declare it under categories)`},
		{"unknown kind", []string{"kind: sql", "kind: nosql"},
			`valid.yaml:7: store "crm": unknown kind "nosql", want sql, http or manual`},
		{"unknown driver", []string{"driver: postgres", "driver: oracle"},
			`valid.yaml:9: store "crm": connection: unknown driver "oracle", want postgres, mysql or sqlite`},
		{"password in a literal DSN", []string{"dsn_env: CRM_DSN", "dsn: postgres://crm:s3cret@db/crm"},
			`valid.yaml:10: store "crm": connection: dsn holds a password; put the DSN in an environment variable and name it in dsn_env`},
		{"no DSN", []string{"      dsn_env: CRM_DSN\n", ""},
			`valid.yaml:8: store "crm": connection: want dsn_env, the environment variable holding the DSN (or dsn for a SQLite file)`},
		{"bad environment variable name", []string{"dsn_env: CRM_DSN", "dsn_env: crm-dsn"},
			`valid.yaml:10: store "crm": connection: dsn_env: "crm-dsn" is not an environment variable name`},
		{"no PII columns", []string{"        pii:\n          product: order_history\n        suppress:\n          columns: {product: delete_row}\n", "        pii: {}\n"},
			`valid.yaml:70: store "crm": table "order_lines": pii is empty: list the columns holding personal data`},
		{"unknown key", []string{"legal_hold: on_hold\n", "legal_hold: on_hold\n        retain: forever\n"},
			`valid.yaml:51: store "crm": table "customers": unknown key "retain", want one of table, label, description, category, primary_key, identity, reached_through, pii, review, correct, suppress, restrict, retention, legal_hold, columns`},
		{"repeated key", []string{"primary_key: id\n        pii:\n          full_name", "primary_key: id\n        primary_key: uid\n        pii:\n          full_name"},
			`valid.yaml:26: store "crm": table "customers": key "primary_key" appears twice`},
		{"field that is not correctable", []string{"          name: full_name", "          order_history: full_name"},
			`valid.yaml:36: store "crm": table "customers": correct: category "order_history" is not correctable`},
		{"correction to a column of another category", []string{"nickname: nick", "nickname: phone"},
			`valid.yaml:37: store "crm": table "customers": correct: field "nickname" maps to column "phone", which is not a pii column of category "nickname"`},
		{"PII column without a strategy", []string{"            points: delete_row\n", ""},
			`valid.yaml:38: store "crm": table "customers": suppress: no strategy for pii columns points`},
		{"strategy for a column that is not PII", []string{"            points: delete_row\n", "            points: delete_row\n            email: hash\n"},
			`valid.yaml:46: store "crm": table "customers": suppress: column "email" is not a pii column of the table`},
		{"unknown restrict limit", []string{"marketing_email: {column", "marketing_mail: {column"},
			`valid.yaml:47: store "crm": table "customers": restrict: unknown limit "marketing_mail", want marketing_email, affiliate_sharing or all_processing`},
		{"restrict flag with a lifted value that is not a scalar", []string{"{column: newsletter, value: false}", "{column: newsletter, value: false, lifted: [true]}"},
			`valid.yaml:47: store "crm": table "customers": restrict marketing_email: lifted: want true, false, a number, a string or null`},
		{"restrict flag without value", []string{"{column: newsletter, value: false}", "{column: newsletter}"},
			`valid.yaml:47: store "crm": table "customers": restrict marketing_email: missing value: what the column is set to`},
		{"bad retention period", []string{"younger_than: 7 years", "younger_than: seven years"},
			`valid.yaml:60: store "crm": table "sales.orders": retention: younger_than: want a positive number in "seven years"`},
		{"retention without basis", []string{"            basis: Tax law (GDPR Art. 17(3)(b))\n", ""},
			`valid.yaml:59: store "crm": table "sales.orders": retention: missing basis`},
		{"bad description template", []string{"order {number} of {placed_at}", "order {number of {placed_at}"},
			`valid.yaml:62: store "crm": table "sales.orders": retention: describe: unclosed '{' in "order {number of {placed_at}"`},
		{"column name that is not an identifier", []string{"primary_key: number", `primary_key: "number; DROP TABLE x"`},
			`valid.yaml:53: store "crm": table "sales.orders": primary_key: "number; DROP TABLE x" is not a column name (letters, digits and _)`},
		{"table reached through an unknown table", []string{"{table: sales.orders, key", "{table: orders, key"},
			`valid.yaml:68: store "crm": table "order_lines": reached_through: table "orders" is not described in this store`},
		{"table without identity", []string{"        reached_through: {table: sales.orders, key: number, column: order_number}\n", ""},
			`valid.yaml:67: store "crm": table "order_lines": missing identity (the column holding the e-mail address) or reached_through`},
		{"tables reaching each other", []string{"identity: {column: buyer_email, normalised: true}", "reached_through: {table: order_lines, key: id, column: line}"},
			`valid.yaml:52: store "crm": table "sales.orders": reached_through: tables reach each other in a circle; one of them needs an identity column`},
		{"data point in an unknown table", []string{"{name: postal_code, table: customers", "{name: postal_code, table: clients"},
			`valid.yaml:12: store "crm": identity data point "postal_code": table "clients" is not described in this store`},
		{"recipient nobody can reach", []string{"        email: privacy@affiliate.example\n", ""},
			`valid.yaml:15: store "crm": recipient "Example Affiliate Ltd": say how to reach the recipient: webhook or email`},
		{"recipient with an unknown relation", []string{"relation: affiliate", "relation: friend"},
			`valid.yaml:16: store "crm": recipient "Example Affiliate Ltd": unknown relation "friend", want affiliate, service_provider or third_party`},
		{"recipient webhook that is no URL", []string{"webhook: https://mailer.example/dsr", "webhook: mailer.example"},
			`valid.yaml:20: store "crm": recipient "Mailer Inc": webhook: want an absolute http or https URL`},
		{"recipient key without its secret", []string{"webhook: https://mailer.example/dsr\n", "webhook: https://mailer.example/dsr\n        key_id: k1\n"},
			`valid.yaml:18: store "crm": recipient "Mailer Inc": give key_id and secret_env together: webhook notices are signed with that key`},
		{"recipient secret_env that is no variable", []string{"webhook: https://mailer.example/dsr\n", "webhook: https://mailer.example/dsr\n        key_id: k1\n        secret_env: mailer-key\n"},
			`valid.yaml:22: store "crm": recipient "Mailer Inc": secret_env: "mailer-key" is not an environment variable name`},
		{"disclosure in a table the store does not describe", []string{"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        disclosed_when: {table: partners, column: shared}\n"},
			`valid.yaml:18: store "crm": recipient "Example Affiliate Ltd": disclosed_when: table "partners" is not described in this store`},
		{"disclosure without a column", []string{"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        disclosed_when: {table: customers}\n"},
			`valid.yaml:18: store "crm": recipient "Example Affiliate Ltd": disclosed_when: want column (a flag set while the data goes to the recipient) or since (the date it began), or both`},
		{"disclosure column that is no column", []string{"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        disclosed_when: {table: customers, since: shared at}\n"},
			`valid.yaml:18: store "crm": recipient "Example Affiliate Ltd": disclosed_when: since: "shared at" is not a column name (letters, digits and _)`},
		{"sql store that would be told who received data", []string{"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        disclosed_when: reported\n"},
			`valid.yaml:18: store "crm": recipient "Example Affiliate Ltd": disclosed_when: want {table, column} (a flag set while the data goes to the recipient), with since (the column holding the date it began) or instead of column`},
		{"http store's recipient disclosed by a column", []string{"email: dpo@partner.example\n", "email: dpo@partner.example\n        disclosed_when: {table: customers, column: shared}\n"},
			`valid.yaml:85: store "newsletter-service": recipient "Newsletter Partner": disclosed_when: want reported (the store names the recipient in its answer's disclosed_to)`},
		{"recipient key without a webhook", []string{"email: privacy@affiliate.example\n", "email: privacy@affiliate.example\n        key_id: k1\n        secret_env: AFFILIATE_KEY\n"},
			`valid.yaml:15: store "crm": recipient "Example Affiliate Ltd": key_id and secret_env sign webhook notices; give a webhook too`},
		{"store named twice", []string{"- name: paper-archive", "- name: crm"},
			`valid.yaml:85: store "crm" appears twice`},
		{"http store without URL", []string{"      url: https://newsletter.example/dsr\n", ""},
			`valid.yaml:76: store "newsletter-service": connection: missing url`},
		{"tables in an http store", []string{"    holds: [name, loyalty_points]\n", "    holds: [name, loyalty_points]\n    tables: []\n"},
			`valid.yaml:81: store "newsletter-service": key "tables" belongs to sql stores`},
		{"unknown held category", []string{"holds: [postal_address]", "holds: [shoe_size]"},
			`valid.yaml:88: store "paper-archive": unknown category "shoe_size" (declare it under categories)`},
		{"category defined twice", []string{"categories:\n", "categories:\n  - name: phone\n"},
			`valid.yaml:2: categories: category "phone" is already defined`},
		{"invalid YAML", []string{"    kind: manual", "    kind: [manual"},
			`valid.yaml:86: invalid YAML: did not find expected ',' or ']'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := datamap.Parse("valid.yaml", variant(t, c.edits...))
			var problems datamap.Errors
			if !errors.As(err, &problems) {
				t.Fatalf("got %v, want datamap.Errors", err)
			}
			if err.Error() != c.want {
				t.Errorf("got\n%v\nwant\n%s", err, c.want)
			}
		})
	}
}

func TestSeveralMistakesAreReportedTogetherInLineOrder(t *testing.T) {
	_, err := datamap.Parse("valid.yaml", variant(t, "holds: [postal_address]", "holds: [shoe_size]",
		"zip: mask", "zip: erase", "kind: sql", "kind: nosql"))
	want := `valid.yaml:7: store "crm": unknown kind "nosql", want sql, http or manual` + "\n" +
		`valid.yaml:88: store "paper-archive": unknown category "shoe_size" (declare it under categories)`
	// The crm store's tables are not checked once its kind is unknown.
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	_, err = datamap.Parse("valid.yaml", variant(t, "zip: mask", "zip: erase", "relation: affiliate", "relation: friend"))
	if n := len(err.(datamap.Errors)); n != 2 {
		t.Errorf("got %d problems, want 2: %v", n, err)
	}
}

func TestEmptyMapIsRejected(t *testing.T) {
	for _, data := range []string{"", "stores: []\n", "categories: []\n"} {
		_, err := datamap.Parse("empty.yaml", []byte(data))
		if err == nil {
			t.Errorf("%q: got no error", data)
		}
	}
}

func TestLoadFindsRelativeSQLiteFilesBesideTheMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "datamap.yaml")
	data := `stores:
  - name: dev
    kind: sql
    connection: {driver: sqlite, dsn: dev.db}
    tables:
      - table: people
        identity: email
        primary_key: id
        pii: {name: name}
        suppress: {columns: {name: null}}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := datamap.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "dsn", m.Stores[0].Connection.DSN, filepath.Join(dir, "dev.db"))

	_, err = datamap.Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

func TestDSNComesFromTheEnvironment(t *testing.T) {
	c := datamap.Connection{Driver: datamap.Postgres, DSNEnv: "CRM_DSN"}
	env := map[string]string{"CRM_DSN": "postgres://db/crm"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	dsn, err := c.ResolveDSN(lookup)
	same(t, "dsn", []any{dsn, err}, []any{"postgres://db/crm", nil})

	delete(env, "CRM_DSN")
	if _, err := c.ResolveDSN(lookup); err == nil || !strings.Contains(err.Error(), "CRM_DSN") {
		t.Errorf("unset variable: got %v, want an error naming it", err)
	}
}

func TestPeriodsParse(t *testing.T) {
	for in, want := range map[string]datamap.Period{
		"7 years": {Years: 7}, "1 year": {Years: 1}, "18 months": {Months: 18}, "90 days": {Days: 90},
		"1 year 6 months": {Years: 1, Months: 6},
	} {
		got, err := datamap.ParsePeriod(in)
		if err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%q prints as %q", in, got.String())
		}
	}
	for _, in := range []string{"", "7", "years", "-1 years", "7 fortnights", "0 days"} {
		if _, err := datamap.ParsePeriod(in); err == nil {
			t.Errorf("%q: got no error", in)
		}
	}
}

func TestRetainedPicksTheRuleThatKeepsTheRowLongest(t *testing.T) {
	orders, _ := parse(t, valid(t)).Stores[0].Table("sales.orders")
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	placed := time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC)
	disputed := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

	rule, until, ok := orders.Retained(map[string]time.Time{"placed_at": placed, "disputed_at": disputed}, now)
	same(t, "tax rule", []any{rule.Column, until, ok}, []any{"placed_at", time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), true})

	rule, until, ok = orders.Retained(map[string]time.Time{"placed_at": placed.AddDate(-5, 0, 0), "disputed_at": disputed}, now)
	same(t, "claims rule", []any{rule.Column, until, ok}, []any{"disputed_at", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true})

	_, _, ok = orders.Retained(map[string]time.Time{"placed_at": placed.AddDate(-5, 0, 0)}, now)
	same(t, "expired without dispute", ok, false)

	desc := rule.Description(orders, func(col string) string { return map[string]string{"number": "A-1"}[col] })
	same(t, "default description", desc, "sales.orders A-1")
	same(t, "placeholders", orders.Retention[0].Placeholders(), []string{"number", "placed_at"})
	same(t, "description", orders.Retention[0].Description(orders, func(col string) string { return "<" + col + ">" }), "order <number> of <placed_at>")
}
