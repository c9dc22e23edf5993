package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// onEveryEngine runs test against a fresh, migrated PostgreSQL schema and SQLite file.
func onEveryEngine(t *testing.T, test func(t *testing.T, db *database.DB)) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) { test(t, testenv.OpenMigrated(t, target.URL)) })
	}
}

// Personal data of the seeded requests, which a bundle must not hold unless asked.
const (
	address     = "pat.person@example.com"
	newAddress  = "1 Hidden Lane"
	reviewValue = "Pat Person"
	oldAddress  = "9 Former Road"
	// keptOrder names the record a store kept; an order number is one of the data points
	// that verify a requester.
	keptOrder = "INV-4711"
)

var day = time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC)

// seed stores two correction requests whose events interleave in the chain: r1 holds
// positions 1, 3 and 5, r2 positions 2 and 4. r1 has a system's result with review data and
// a retention exception, and one notice.
func seed(t *testing.T, db *database.DB) *requestdb.Repo {
	t.Helper()
	ring, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, repo := context.Background(), requestdb.New(db).WithResultKeys(ring)
	for _, id := range []string{"r1", "r2"} {
		err := repo.CreateRequest(ctx, &requestdb.Request{
			ID: id, Type: domain.TypeCorrect, Jurisdiction: domain.JurisdictionGDPR, Status: domain.StatusReceived,
			Email: address, EmailHash: "keyed-hash-of-" + id, StatusTokenHash: "token-hash-of-" + id,
			Details:    `{"changes":[{"field":"postal_address","value":"` + newAddress + `"}]}`,
			ReceivedAt: day, DueAt: day.AddDate(0, 1, 0), OriginalDueAt: day.AddDate(0, 1, 0),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// r1's third step records the digest of its store's plan, as the fan-out does.
	kept := []connector.Retention{{What: "invoice " + keptOrder, Reason: "tax law", Until: day.AddDate(7, 0, 0), Ref: "invoices:" + keptOrder}}
	plan, err := repo.SaveStorePlan(ctx, "r1", "crm", connector.ChangePlan{Store: "crm", Retained: kept, Tables: []connector.TableChange{
		{Table: "invoices", Matched: 1, Rows: []connector.PlannedRow{{Key: keptOrder, Digest: "digest-of-the-invoice"}}, Kept: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []struct {
		request string
		seq     int64
	}{{"r1", 1}, {"r2", 1}, {"r1", 2}, {"r2", 2}, {"r1", 3}} {
		status := domain.StatusInProgress
		action, details := fmt.Sprintf("step-%d", s.seq), `["checked"]`
		if s.request == "r1" && s.seq == 3 {
			action, details = "store_planned", `["crm","sha256:`+plan.SHA256+`"]`
		}
		_, err := repo.ApplyStep(ctx, requestdb.Step{
			RequestID: s.request, Seq: s.seq, Patch: requestdb.Patch{Status: &status},
			Event: requestdb.AuditEvent{
				At: day.Add(time.Duration(i) * time.Minute), Actor: "alice", Role: "analyst",
				Action: action, ToStatus: string(status), Details: details,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	result := connector.Result{
		Store: "crm", Found: []string{"name"}, Export: map[string]any{"name": reviewValue},
		Retained: kept,
		Before:   []connector.PriorValue{{Table: "customers", Field: "postal_address", Value: oldAddress}},
	}
	if err := repo.SaveStoreResult(ctx, "r1", "crm", result); err != nil {
		t.Fatal(err)
	}
	if err := repo.RecordMail(ctx, requestdb.MailRecord{Key: "r1:acknowledgement", RequestID: "r1", Kind: "acknowledgement", SentAt: day}); err != nil {
		t.Fatal(err)
	}
	return repo
}

// allowRewrites drops the triggers that keep the audit log append-only, as someone with
// owner rights on the database could, so that tests can tamper with it.
func allowRewrites(t *testing.T, db *database.DB) {
	t.Helper()
	statements := []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}
	if db.Kind == config.Postgres {
		statements = []string{"DROP TRIGGER audit_events_append_only ON audit_events"}
	}
	for _, sql := range statements {
		if err := db.Exec(sql).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func tamper(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	res := db.Exec(sql, args...)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("%s: %v, %d rows", sql, res.Error, res.RowsAffected)
	}
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
