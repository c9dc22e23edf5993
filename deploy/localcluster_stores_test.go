package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsr-project/dsr/internal/connector/webhook"
)

// The company systems the cluster test's request fans out to: two SQL stores, each in a
// PostgreSQL schema of its own, and an http store served by the test. A trigger in each
// SQL schema counts every update of a person's row, so "changed once" is a count.

const (
	personEmail     = "kim@example.com"
	bystanderEmail  = "lee@example.com"
	newsletterKeyID = "k1"
)

var newsletterSecret = []byte("local-cluster-test-secret-0123456789")

// storeSchema creates table (id, email, the restricted flag column, name) in the schema of
// dsn with one row per address, and the trigger that counts row updates.
func storeSchema(t *testing.T, dsn, table, flag string) {
	t.Helper()
	execAll(t, dsn,
		`CREATE TABLE `+table+` (id int PRIMARY KEY, email text NOT NULL, name text, `+flag+` boolean NOT NULL)`,
		`CREATE TABLE row_updates (id int NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
		`CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO row_updates (id) VALUES (NEW.id); RETURN NEW; END $$`,
		`CREATE TRIGGER counted AFTER UPDATE ON `+table+` FOR EACH ROW EXECUTE FUNCTION count_update()`,
		`INSERT INTO `+table+` VALUES (1, '`+personEmail+`', 'Kim', true), (2, '`+bystanderEmail+`', 'Lee', true)`,
	)
}

func execAll(t *testing.T, dsn string, statements ...string) {
	t.Helper()
	conn := connect(t, dsn)
	for _, s := range statements {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// storeState is what one SQL store holds about the request after it ran.
type storeState struct {
	personFlag, bystanderFlag       bool
	personUpdates, bystanderUpdates int
	bookkeeping                     int
}

func readStore(t *testing.T, dsn, table, flag, requestID string) storeState {
	t.Helper()
	conn := connect(t, dsn)
	var s storeState
	q := `SELECT (SELECT ` + flag + ` FROM ` + table + ` WHERE id = 1), (SELECT ` + flag + ` FROM ` + table + ` WHERE id = 2),
		(SELECT count(*) FROM row_updates WHERE id = 1), (SELECT count(*) FROM row_updates WHERE id = 2),
		(SELECT count(*) FROM dsr_applied_operations WHERE request_id = $1)`
	if err := conn.QueryRow(t.Context(), q, requestID).Scan(&s.personFlag, &s.bystanderFlag, &s.personUpdates, &s.bystanderUpdates, &s.bookkeeping); err != nil {
		t.Fatal(err)
	}
	return s
}

// bookkept says whether the store has committed its operation for the request.
func bookkept(t *testing.T, conn *pgx.Conn, requestID string) bool {
	t.Helper()
	var n int
	err := conn.QueryRow(t.Context(), `SELECT count(*) FROM dsr_applied_operations WHERE request_id = $1`, requestID).Scan(&n)
	if err != nil && !isUndefinedTable(err) {
		t.Fatal(err)
	}
	return n > 0
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// newsletterService is the http store: it checks each signed request, applies an
// operation once per idempotency key and answers a repeat with the first result. It
// holds back its first answer until the caller goes away, so that a worker killed then
// has applied the change without hearing so.
type newsletterService struct {
	mu       sync.Mutex
	keys     []string       // the idempotency key of every attempt, in order
	applied  map[string]int // times each key's change was applied
	held     chan struct{}  // closed once the first attempt is applied and held
	released chan struct{}  // closed when the test ends
	url      string
}

func startNewsletter(t *testing.T) *newsletterService {
	t.Helper()
	s := &newsletterService{applied: map[string]int{}, held: make(chan struct{}), released: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(s.released) }) // runs first: frees a held handler so Close returns
	s.url = srv.URL + "/dsr"
	return s
}

func (s *newsletterService) serve(w http.ResponseWriter, r *http.Request) {
	keys := func(id string) ([]byte, bool) { return newsletterSecret, id == newsletterKeyID }
	req, err := webhook.ParseRequest(r, keys, time.Now())
	if err != nil {
		http.Error(w, "bad request signature", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	s.keys = append(s.keys, req.IdempotencyKey)
	first := len(s.keys) == 1
	if s.applied[req.IdempotencyKey] == 0 {
		s.applied[req.IdempotencyKey]++
	}
	s.mu.Unlock()
	if first {
		close(s.held)
		select {
		case <-r.Context().Done(): // the worker died
		case <-s.released:
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(webhook.Answer{Status: webhook.StatusDone, Found: []string{"name"}, Changed: []string{"name"}})
}

func (s *newsletterService) seen() (keys []string, applied map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	applied = map[string]int{}
	for k, v := range s.applied {
		applied[k] = v
	}
	return append([]string(nil), s.keys...), applied
}

// crmStore is the data map entry of the crm store, whose DSN comes from LC_TEST_CRM_DSN.
const crmStore = `  - name: crm
    kind: sql
    connection: {driver: postgres, dsn_env: LC_TEST_CRM_DSN}
    tables:
      - table: customers
        identity: email
        primary_key: id
        pii: {name: name}
        suppress: {columns: {name: "null"}}
        restrict:
          marketing_email: {column: newsletter, value: false}
`

// writeDataMap describes the three stores; the DSNs and the secret come from the
// environment variables it names.
func writeDataMap(t *testing.T, newsletterURL string) string {
	t.Helper()
	return writeDataMapFile(t, "stores:\n"+crmStore+`  - name: billing
    kind: sql
    connection: {driver: postgres, dsn_env: LC_TEST_BILLING_DSN}
    tables:
      - table: accounts
        identity: email
        primary_key: id
        pii: {name: name}
        suppress: {columns: {name: "null"}}
        restrict:
          affiliate_sharing: {column: share_with_affiliates, value: false}
  - name: newsletter
    kind: http
    connection: {url: "`+newsletterURL+`", key_id: `+newsletterKeyID+`, secret_env: LC_TEST_NEWSLETTER_SECRET}
    holds: [name]
`)
}

// writeDataMapFile writes a data map to a file of the test's and returns its path.
func writeDataMapFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "datamap.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
