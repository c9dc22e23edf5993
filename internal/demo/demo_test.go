package demo_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// targets returns a fresh demo target on each engine: a directory of SQLite files, and a
// PostgreSQL database whose per-store schemas are dropped when the test ends.
func targets(t *testing.T) map[string]string {
	t.Helper()
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

func open(t *testing.T, c datamap.Connection) *sql.DB {
	t.Helper()
	db, err := sqlstore.OpenDB(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rows counts the rows of every table of every demo database.
func rows(t *testing.T, target string) map[string]int {
	t.Helper()
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	tg, err := demo.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	count := func(db *sql.DB, store, table string) {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", store, table, err)
		}
		out[store+"."+table] = n
	}
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL {
			continue
		}
		db := open(t, tg.Connection(s.Name))
		for _, table := range s.Tables {
			count(db, s.Name, table.Name)
		}
	}
	count(open(t, tg.Connection(demo.SupportDeskStore)), demo.SupportDeskStore, "tickets")
	return out
}

func setup(t *testing.T, target string) *datamap.Map {
	t.Helper()
	m, err := demo.Setup(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSetupSeedsEveryStoreOnceARestartChangesNothingAndRemoveStartsOver(t *testing.T) {
	for engine, target := range targets(t) {
		t.Run(engine, func(t *testing.T) {
			setup(t, target)
			first := rows(t, target)
			for table, n := range first {
				if n == 0 {
					t.Errorf("%s is empty after seeding", table)
				}
			}
			if got, want := first["accounts.profiles"], len(demo.DemoPeople())+demo.SyntheticPeople; got != want {
				t.Errorf("accounts.profiles holds %d people, want %d", got, want)
			}
			// A restart after a suppression must not bring the person back.
			db := open(t, mustTarget(t, target).Connection("accounts"))
			if _, err := db.ExecContext(ctx, "DELETE FROM profiles WHERE id = 7"); err != nil {
				t.Fatal(err)
			}
			setup(t, target)
			second := rows(t, target)
			first["accounts.profiles"]--
			if !reflect.DeepEqual(second, first) {
				t.Errorf("rows after a second setup:\n got %v\nwant %v", second, first)
			}
			// Removing the company and setting it up again starts over, the person back.
			if err := mustTarget(t, target).Remove(ctx); err != nil {
				t.Fatal(err)
			}
			setup(t, target)
			first["accounts.profiles"]++
			if again := rows(t, target); !reflect.DeepEqual(again, first) {
				t.Errorf("rows after remove and setup:\n got %v\nwant %v", again, first)
			}
		})
	}
}

func mustTarget(t *testing.T, raw string) demo.Target {
	t.Helper()
	tg, err := demo.ParseTarget(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestEveryStoreIsItsOwnDatabase(t *testing.T) {
	target := "sqlite:" + t.TempDir()
	setup(t, target)
	// The web store's database knows nothing of the accounts' tables.
	db := open(t, mustTarget(t, target).Connection("webstore"))
	if _, err := db.ExecContext(ctx, "SELECT 1 FROM profiles"); err == nil {
		t.Error("the webstore database has a profiles table")
	}
}

// desk starts the support desk of a fresh SQLite demo and returns its URL.
func desk(t *testing.T, secret []byte) (*demo.SupportDesk, string) {
	t.Helper()
	target := "sqlite:" + t.TempDir()
	setup(t, target)
	d, err := demo.OpenSupportDesk(ctx, target, "desk", secret)
	if err != nil {
		t.Fatal(err)
	}
	d.RetryDelay = 20 * time.Millisecond
	t.Cleanup(d.Close)
	url, err := d.Start()
	if err != nil {
		t.Fatal(err)
	}
	return d, url
}

var deskSecret = []byte("a support desk secret, 32 bytes!")

func TestSupportDeskAnswersAReviewAtOnce(t *testing.T) {
	_, url := desk(t, deskSecret)
	c := webhook.New(demo.SupportDeskStore, webhook.Config{URL: url, KeyID: "desk", Secret: deskSecret})
	r, err := c.Apply(ctx, connector.Operation{RequestID: "r1", Type: domain.TypeReview, Email: demo.Ada().Email})
	if err != nil {
		t.Fatal(err)
	}
	tickets, _ := r.Export["tickets"].([]any)
	if !reflect.DeepEqual(r.Found, []string{"name", "support_tickets"}) || len(tickets) != 1 {
		t.Errorf("review of Ada: %+v", r)
	}
	r, err = c.Apply(ctx, connector.Operation{RequestID: "r2", Type: domain.TypeReview, Email: "nobody@example.com"})
	if err != nil || !r.NotFound {
		t.Errorf("review of an unknown address: %+v, %v", r, err)
	}
}

func TestSupportDeskRefusesARequestSignedWithAnotherKey(t *testing.T) {
	_, url := desk(t, deskSecret)
	c := webhook.New(demo.SupportDeskStore, webhook.Config{URL: url, KeyID: "desk", Secret: []byte("not the desk's secret, 32 bytes!")})
	_, err := c.Apply(ctx, connector.Operation{RequestID: "r1", Type: domain.TypeReview, Email: demo.Ada().Email})
	if !errors.Is(err, connector.ErrPermanent) {
		t.Errorf("err = %v, want a permanent refusal (401)", err)
	}
}

// callbacks is dsr's side of the protocol: it verifies every callback and hands it on.
func callbacks(t *testing.T, secret []byte) (string, chan webhook.Callback) {
	got := make(chan webhook.Callback, 4)
	keys := func(id string) ([]byte, bool) { return secret, id == "desk" }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := webhook.ParseCallback(r, keys, time.Now())
		if err != nil {
			t.Errorf("callback: %v", err)
			http.Error(w, "bad callback", http.StatusUnauthorized)
			return
		}
		got <- cb
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func TestSupportDeskSuppressesOnceAndCallsBackWithTheResult(t *testing.T) {
	_, url := desk(t, deskSecret)
	base, got := callbacks(t, deskSecret)
	c := webhook.New(demo.SupportDeskStore, webhook.Config{URL: url, KeyID: "desk", Secret: deskSecret,
		CallbackURL: func(id string) string { return base + "/callbacks/" + id }})
	op := connector.Operation{RequestID: "r1", Type: domain.TypeSuppress, Email: demo.Ada().Email,
		Details: domain.Details{Scope: &domain.SuppressScope{All: true}}}
	if _, err := c.Apply(ctx, op); !errors.Is(err, connector.ErrPending) {
		t.Fatalf("first suppression: err = %v, want pending", err)
	}
	var cb webhook.Callback
	select {
	case cb = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no callback within 10s")
	}
	want := []string{"name", "support_tickets"}
	if cb.RequestID != "r1" || cb.Operation != domain.TypeSuppress || !reflect.DeepEqual(cb.Result.Changed, want) {
		t.Errorf("callback %+v, want r1 suppress changing %v", cb, want)
	}
	// A retry of the same operation gets the recorded result at once and changes nothing.
	again, err := c.Apply(ctx, op)
	if err != nil || !reflect.DeepEqual(again.Changed, want) {
		t.Errorf("retried suppression: %+v, %v", again, err)
	}
	review, err := c.Apply(ctx, connector.Operation{RequestID: "r2", Type: domain.TypeReview, Email: demo.Ada().Email})
	if err != nil || !review.NotFound {
		t.Errorf("review after the suppression: %+v, %v", review, err)
	}
}

func TestSupportDeskAnswersAtOnceWithoutACallbackURL(t *testing.T) {
	_, url := desk(t, deskSecret)
	c := webhook.New(demo.SupportDeskStore, webhook.Config{URL: url, KeyID: "desk", Secret: deskSecret})
	r, err := c.Apply(ctx, connector.Operation{RequestID: "r1", Type: domain.TypeCorrect, Email: demo.Ada().Email,
		Details: domain.Details{Changes: []domain.FieldChange{{Field: "name", Value: "Augusta Ada King"}}}})
	if err != nil || !reflect.DeepEqual(r.Changed, []string{"name"}) {
		t.Fatalf("correction: %+v, %v", r, err)
	}
	review, err := c.Apply(ctx, connector.Operation{RequestID: "r2", Type: domain.TypeReview, Email: demo.Ada().Email})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(review.Export["tickets"]); !strings.Contains(got, "Augusta Ada King") {
		t.Errorf("tickets after the correction: %s", got)
	}
}

// The desk plans (PROTOCOL.md section 6): it says what a suppression would delete and
// changes nothing until the suppression itself comes.
func TestSupportDeskPlansWithoutChanging(t *testing.T) {
	_, url := desk(t, deskSecret)
	c := webhook.New(demo.SupportDeskStore, webhook.Config{URL: url, KeyID: "desk", Secret: deskSecret})
	op := connector.Operation{RequestID: "r1", Type: domain.TypeSuppress, Email: demo.Ada().Email,
		Details: domain.Details{Scope: &domain.SuppressScope{Categories: []string{"name"}}}}
	p, err := c.Plan(ctx, op)
	want := []connector.TableChange{{Table: "tickets", Matched: 1, Updated: 1,
		Columns: []connector.ColumnChange{{Column: "requester_name", Action: connector.ActionNull, Rows: 1}}}}
	if err != nil || p.CannotPlan != "" || !reflect.DeepEqual(p.Tables, want) {
		t.Fatalf("plan = %+v, %v; want %+v", p, err, want)
	}
	review, err := c.Apply(ctx, connector.Operation{RequestID: "r2", Type: domain.TypeReview, Email: demo.Ada().Email})
	if err != nil || !reflect.DeepEqual(review.Found, []string{"name", "support_tickets"}) {
		t.Errorf("review after the plan: %+v, %v; want the name still held", review, err)
	}
	if r, err := c.Apply(ctx, op); err != nil || !reflect.DeepEqual(r.Changed, []string{"name"}) {
		t.Errorf("suppression after the plan: %+v, %v", r, err)
	}
}
