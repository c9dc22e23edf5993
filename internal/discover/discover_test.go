package discover_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/discover"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// demoCompany sets up the demo company on one engine and adds what its data map does not
// know: to accounts.profiles an e-mail column named like one, an e-mail column and a
// phone column named innocuously; to the web store a table of gift notes keyed to orders,
// naming their recipient.
func demoCompany(t *testing.T, engine string) *datamap.Map {
	t.Helper()
	target := "sqlite:" + t.TempDir()
	if engine == "postgres" {
		target = testenv.PostgresURL(t)
		tg, err := demo.ParseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := tg.Remove(ctx); err != nil {
				t.Errorf("remove the demo company: %v", err)
			}
		})
	}
	m, err := demo.Setup(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(store string, statements ...string) {
		t.Helper()
		for _, s := range m.Stores {
			if s.Name != store {
				continue
			}
			db, err := sqlstore.OpenDB(ctx, s.Connection)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range statements {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %s: %v", store, q, err)
				}
			}
		}
	}
	exec("accounts",
		`ALTER TABLE profiles ADD COLUMN contact_email TEXT`,
		`ALTER TABLE profiles ADD COLUMN extra TEXT`,
		`ALTER TABLE profiles ADD COLUMN reach TEXT`,
		`UPDATE profiles SET contact_email = 'work.' || email, extra = 'alt.' || email, reach = '+44 20 7946 ' || (1000 + id)`)
	exec("webstore",
		`CREATE TABLE gift_notes (id INTEGER PRIMARY KEY, order_number TEXT NOT NULL REFERENCES orders (order_number), note TEXT, recipient_name TEXT)`,
		`INSERT INTO gift_notes (id, order_number, note, recipient_name) SELECT 1, order_number, 'Happy birthday', 'Annabella Byron' FROM orders WHERE order_number = 'DEMO-70001'`)
	return m
}

func find(r discover.Report, store, table string) (discover.TableReport, bool) {
	for _, s := range r.Stores {
		for _, tr := range s.Tables {
			if s.Store == store && tr.Table == table {
				return tr, true
			}
		}
	}
	return discover.TableReport{}, false
}

func column(t *testing.T, r discover.Report, store, table, col string) (discover.Finding, bool) {
	t.Helper()
	tr, _ := find(r, store, table)
	for _, f := range tr.Columns {
		if f.Column == col {
			return f, true
		}
	}
	return discover.Finding{}, false
}

func TestDiscoverFindsWhatTheDemoMapDoesNotCover(t *testing.T) {
	for _, engine := range []string{"postgres", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			m := demoCompany(t, engine)
			report, err := discover.Map(ctx, m, discover.Options{})
			if err != nil {
				t.Fatal(err)
			}
			snippet, err := report.YAML()
			if err != nil {
				t.Fatal(err)
			}

			t.Run("an e-mail column the map does not name is found by name and by content", func(t *testing.T) {
				f, ok := column(t, report, "accounts", "profiles", "contact_email")
				want := discover.Finding{Column: "contact_email", Category: discover.Email, ByName: discover.Email,
					ByContent: discover.Email, Matched: discover.DefaultSampleRows, Sampled: discover.DefaultSampleRows}
				if !ok || f != want {
					t.Errorf("got %+v (found %v), want %+v", f, ok, want)
				}
			})
			t.Run("an e-mail column named innocuously is found by content", func(t *testing.T) {
				f, ok := column(t, report, "accounts", "profiles", "extra")
				if !ok || f.Category != discover.Email || f.ByName != discover.None || f.ByContent != discover.Email {
					t.Errorf("got %+v (found %v), want e-mail by content only", f, ok)
				}
			})
			t.Run("phone numbers in an innocuously named column are found by content", func(t *testing.T) {
				f, ok := column(t, report, "accounts", "profiles", "reach")
				if !ok || f.Category != discover.Phone || f.ByName != discover.None || f.Matched != f.Sampled {
					t.Errorf("got %+v (found %v), want phone by content", f, ok)
				}
			})
			t.Run("a table linked by foreign key to a mapped table is reported", func(t *testing.T) {
				tr, ok := find(report, "webstore", "gift_notes")
				want := discover.Link{Table: "gift_notes", Column: "order_number", RefTable: "orders", RefColumn: "order_number", Child: true}
				if !ok || tr.Mapped || tr.Link == nil || *tr.Link != want {
					t.Fatalf("got %+v (found %v), want the table linked by %+v", tr, ok, want)
				}
				if line := "reached_through: {table: orders, key: order_number, column: order_number}"; !bytes.Contains(snippet, []byte(line)) {
					t.Errorf("snippet lacks %q:\n%s", line, snippet)
				}
				if f, ok := column(t, report, "webstore", "gift_notes", "recipient_name"); !ok || f.Category != discover.Name {
					t.Errorf("gift_notes.recipient_name: got %+v (found %v), want a name by its name", f, ok)
				}
			})
			t.Run("mapped columns are not reported", func(t *testing.T) {
				for _, s := range m.Stores {
					for _, mt := range s.Tables {
						named := map[string]bool{mt.Identity: true}
						for _, c := range mt.PII {
							named[c.Name] = true
						}
						tr, _ := find(report, s.Name, mt.Name)
						for _, f := range tr.Columns {
							if named[f.Column] {
								t.Errorf("%s.%s.%s is in the map but reported", s.Name, mt.Name, f.Column)
							}
						}
					}
				}
				if _, ok := column(t, report, "accounts", "profiles", "phone"); ok {
					t.Error("accounts.profiles.phone is in the map but reported")
				}
			})
			t.Run("the snippet is YAML with a reason per column and no sampled value", func(t *testing.T) {
				var parsed map[string]any
				if err := yaml.Unmarshal(snippet, &parsed); err != nil {
					t.Fatalf("snippet is not YAML: %v\n%s", err, snippet)
				}
				for _, want := range []string{"contact_email: email_address # named like an e-mail address; 200 of 200 sampled values look like an e-mail address",
					"reach: phone # 200 of 200 sampled values look like a phone number"} {
					if !bytes.Contains(snippet, []byte(want)) {
						t.Errorf("snippet lacks %q:\n%s", want, snippet)
					}
				}
				for _, value := range []string{"@", "example", "7946", "Lovelace", "Happy birthday", "Byron", "DEMO-"} {
					if bytes.Contains(snippet, []byte(value)) {
						t.Errorf("snippet holds %q, a sampled value:\n%s", value, snippet)
					}
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("snippet:\n%s", strings.TrimSpace(string(snippet)))
				}
			})
		})
	}
}
