package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// StoreGrowthOptions configure the store-growth scenario.
type StoreGrowthOptions struct {
	// DatabaseURL is a PostgreSQL URL (postgres://…) where the scenario may create and drop
	// schemas; the stores are built there and dropped when the scenario ends.
	DatabaseURL string
	// Sizes are the numbers of people per store, smallest first; default 10k, 100k, 1M.
	Sizes []int
	// People is how many people are reviewed and suppressed per size; default 30.
	People int
}

// growthMap describes the synthetic store the way a company would: the demo store's
// customers, orders kept for tax law and web logs, identity columns kept normalised.
const growthMap = `
stores:
  - name: bench-customers
    kind: sql
    connection: {driver: postgres, dsn_env: DSR_BENCH_STORE_DSN}
    identity_data_points:
      - {name: postal_code, table: customers, column: postal_code}
    tables:
      - table: customers
        identity: {column: email, normalised: true}
        primary_key: id
        pii: {name: name, postal_address: postal_address, postal_code: postal_address, phone: phone}
        review: {columns: [email, marketing_email_opt_in, created_at]}
        suppress:
          all: delete_row
          columns: {name: null, postal_address: null, postal_code: null, phone: null}
        restrict:
          marketing_email: {column: marketing_email_opt_in, value: false}
      - table: orders
        identity: {column: customer_email, normalised: true}
        primary_key: order_number
        pii: {order_number: order_history, ordered_at: order_history, card_last4: payment_card_last4}
        suppress: {columns: {order_number: delete_row, ordered_at: delete_row, card_last4: delete_row}}
        retention:
          - column: ordered_at
            younger_than: 7 years
            basis: Tax law (GDPR Art. 17(3)(b))
            describe: order {order_number}
      - table: web_logs
        identity: {column: customer_email, normalised: true}
        primary_key: id
        pii: {ip: server_logs, path: server_logs, at: server_logs}
        suppress: {columns: {ip: delete_row, path: delete_row, at: delete_row}}
`

// growthSchema builds one store: every person has one or two orders (about half of them
// younger than seven years) and two web-log lines. Indexes come after the rows, which is
// how a bulk load is done and much faster than keeping them up to date row by row.
var growthSchema = []string{
	`CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT NOT NULL, name TEXT, postal_address TEXT,
		postal_code TEXT, phone TEXT, marketing_email_opt_in BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE orders (order_number TEXT PRIMARY KEY, customer_email TEXT NOT NULL, ordered_at TIMESTAMPTZ NOT NULL,
		card_last4 TEXT)`,
	`CREATE TABLE web_logs (id BIGINT PRIMARY KEY, customer_email TEXT NOT NULL, ip TEXT NOT NULL, path TEXT NOT NULL,
		at TIMESTAMPTZ NOT NULL)`,
	`INSERT INTO customers SELECT i, 'person' || i || '@bench.example', 'Person ' || i, i || ' Example Street',
		'PC' || (i % 1000), '+1 202 555 ' || lpad((i % 10000)::text, 4, '0'), i % 3 <> 0, now() - (i % 3650) * interval '1 day'
		FROM generate_series(1, $1::bigint) i`,
	`INSERT INTO orders SELECT 'O-' || i || '-' || j, 'person' || i || '@bench.example',
		now() - ((i * 37 + j * 900) % 4000) * interval '1 day', lpad(((i * 7919) % 10000)::text, 4, '0')
		FROM generate_series(1, $1::bigint) i CROSS JOIN LATERAL generate_series(1, 1 + i % 2) j`,
	`INSERT INTO web_logs SELECT i * 2 + j, 'person' || i || '@bench.example', '192.0.2.' || (i % 250),
		'/store/' || j, now() - (i % 90) * interval '1 day' FROM generate_series(1, $1::bigint) i, generate_series(0, 1) j`,
	`CREATE UNIQUE INDEX customers_email ON customers (email)`,
	`CREATE INDEX orders_customer_email ON orders (customer_email)`,
	`CREATE INDEX web_logs_customer_email ON web_logs (customer_email)`,
}

// growthVacuum settles a freshly loaded store as a long-lived one is: statistics, hint bits
// and the visibility map set. Without it the first read of each row pays for the load.
const growthVacuum = `VACUUM (ANALYZE) %[1]s.customers, %[1]s.orders, %[1]s.web_logs`

// growthLookups are the statements the connector runs to find and lock a person's rows,
// in the shape plan.byIdentity writes them, for EXPLAIN.
var growthLookups = map[string]string{
	"customers": `SELECT * FROM customers WHERE email = $1 ORDER BY id FOR UPDATE`,
	"orders":    `SELECT * FROM orders WHERE customer_email = $1 ORDER BY order_number FOR UPDATE`,
	"web_logs":  `SELECT * FROM web_logs WHERE customer_email = $1 ORDER BY id FOR UPDATE`,
}

// growthStore is one built store.
type growthStore struct {
	size   int
	schema string
	conn   connector.Connector
	close  func() error
}

// StoreGrowth reviews and suppresses one person at a time in SQL stores of growing size,
// through the generic SQL connector, and reports each size's median time per operation and
// the ratio of the largest store's to the smallest's (goal ≤ 2x). The sizes are measured in
// turns, person by person, so that noise on a shared machine falls on all of them alike.
// It also EXPLAINs the connector's lookups in the largest store and counts those planned
// with an index. It needs only a PostgreSQL database it may create schemas in.
func StoreGrowth(opts StoreGrowthOptions) Scenario {
	if len(opts.Sizes) == 0 {
		opts.Sizes = []int{10_000, 100_000, 1_000_000}
	}
	if opts.People <= 0 {
		opts.People = 30
	}
	return Scenario{Name: "stores", Run: func(ctx context.Context, progress io.Writer) ([]Figure, error) {
		return runStoreGrowth(ctx, opts, progress)
	}}
}

func runStoreGrowth(ctx context.Context, opts StoreGrowthOptions, progress io.Writer) (figs []Figure, err error) {
	admin, err := pgx.Connect(ctx, opts.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	suffix := randomTag()
	var stores []*growthStore
	defer func() {
		for _, s := range stores {
			s.close()
			if _, dropErr := admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+s.schema+" CASCADE"); dropErr != nil && err == nil {
				err = fmt.Errorf("drop %s: %w", s.schema, dropErr)
			}
		}
	}()
	for _, size := range opts.Sizes {
		start := time.Now()
		s, err := buildGrowthStore(ctx, admin, opts.DatabaseURL, size, suffix)
		if s != nil {
			stores = append(stores, s)
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "  built a store of %d people in %s\n", size, time.Since(start).Round(time.Millisecond))
		figs = append(figs, Figure{Name: fmt.Sprintf("build %s people", sizeLabel(size)), Value: time.Since(start).Seconds(), Unit: "s"})
	}

	largest := stores[len(stores)-1]
	indexed, err := indexedLookups(ctx, admin, largest.schema)
	if err != nil {
		return nil, err
	}
	pass := indexed == len(growthLookups)
	figs = append(figs, Figure{Name: fmt.Sprintf("lookups planned with an index at %s", sizeLabel(largest.size)),
		Value: float64(indexed), Unit: fmt.Sprintf("of %d", len(growthLookups)), Goal: "all", Pass: &pass})

	review, suppress, err := measureGrowth(ctx, admin, stores, opts.People, progress)
	if err != nil {
		return nil, err
	}
	for i, s := range stores {
		figs = append(figs,
			Figure{Name: "review p50 at " + sizeLabel(s.size), Value: Percentile(review[i], 50), Unit: "ms"},
			Figure{Name: "suppress p50 at " + sizeLabel(s.size), Value: Percentile(suppress[i], 50), Unit: "ms"},
		)
	}
	last, first := len(stores)-1, 0
	span := sizeLabel(stores[last].size) + " / " + sizeLabel(stores[first].size)
	figs = append(figs,
		Ratio("review p50 "+span, Percentile(review[last], 50), Percentile(review[first], 50), 2, true),
		Ratio("suppress p50 "+span, Percentile(suppress[last], 50), Percentile(suppress[first], 50), 2, true),
	)
	return figs, nil
}

func buildGrowthStore(ctx context.Context, admin *pgx.Conn, baseURL string, size int, suffix string) (*growthStore, error) {
	schema := fmt.Sprintf("bench_store_%d_%s", size, suffix)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	s := &growthStore{size: size, schema: schema, close: func() error { return nil }}
	tx, err := admin.Begin(ctx)
	if err != nil {
		return s, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+schema); err != nil {
		return s, err
	}
	for _, stmt := range growthSchema {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, size)
		}
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			return s, fmt.Errorf("build store of %d: %w", size, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return s, err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(growthVacuum, schema)); err != nil {
		return s, fmt.Errorf("vacuum store of %d: %w", size, err)
	}
	m, err := datamap.Parse("bench-store.yaml", []byte(growthMap))
	if err != nil {
		return s, err
	}
	store := m.Stores[0]
	store.Connection = datamap.Connection{Driver: datamap.Postgres, DSN: withSearchPath(baseURL, schema)}
	conn, db, err := sqlstore.Open(ctx, store)
	if err != nil {
		return s, err
	}
	s.conn, s.close = conn, db.Close
	return s, nil
}

// measureGrowth reviews and then suppresses person after person, one per store in turn,
// after two warm-up people per store that open connections and create the bookkeeping table.
func measureGrowth(ctx context.Context, admin *pgx.Conn, stores []*growthStore, people int, progress io.Writer) (review, suppress [][]time.Duration, err error) {
	review, suppress = make([][]time.Duration, len(stores)), make([][]time.Duration, len(stores))
	smallest := stores[0].size
	for k := range people + 2 {
		for i, s := range stores {
			// Spread the people over the smallest store's range, which every store holds.
			email := fmt.Sprintf("person%d@bench.example", 1+(k*smallest)/(people+2))
			r, sup, err := reviewAndSuppress(ctx, s.conn, email)
			if err != nil {
				return nil, nil, err
			}
			if err := checkSuppressed(ctx, admin, s.schema, email); err != nil {
				return nil, nil, err
			}
			if k >= 2 {
				review[i], suppress[i] = append(review[i], r), append(suppress[i], sup)
			}
		}
		if (k+1)%10 == 0 {
			fmt.Fprintf(progress, "  %d of %d people reviewed and suppressed per store\n", k+1, people+2)
		}
	}
	return review, suppress, nil
}

func reviewAndSuppress(ctx context.Context, c connector.Connector, email string) (review, suppress time.Duration, err error) {
	start := time.Now()
	res, err := c.Apply(ctx, connector.Operation{RequestID: uuid.NewString(), Type: domain.TypeReview, Email: email})
	if err != nil {
		return 0, 0, err
	}
	if res.NotFound || len(res.Found) == 0 {
		return 0, 0, fmt.Errorf("review found nothing for a person the store holds")
	}
	review = time.Since(start)
	start = time.Now()
	if _, err := c.Apply(ctx, connector.Operation{RequestID: uuid.NewString(), Type: domain.TypeSuppress, Email: email}); err != nil {
		return 0, 0, err
	}
	return review, time.Since(start), nil
}

// checkSuppressed fails unless the person's customer row and web logs are gone.
func checkSuppressed(ctx context.Context, admin *pgx.Conn, schema, email string) error {
	var left int
	err := admin.QueryRow(ctx, "SELECT (SELECT count(*) FROM "+schema+".customers WHERE email = $1) + "+
		"(SELECT count(*) FROM "+schema+".web_logs WHERE customer_email = $1)", email).Scan(&left)
	if err != nil {
		return err
	}
	if left != 0 {
		return fmt.Errorf("suppress left %d rows in %s", left, schema)
	}
	return nil
}

// indexedLookups EXPLAINs the connector's lookups and counts those with no sequential scan.
func indexedLookups(ctx context.Context, admin *pgx.Conn, schema string) (int, error) {
	n := 0
	for table, q := range growthLookups {
		rows, err := admin.Query(ctx, "EXPLAIN "+strings.Replace(q, " FROM ", " FROM "+schema+".", 1), "person1@bench.example")
		if err != nil {
			return 0, fmt.Errorf("explain %s lookup: %w", table, err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, fmt.Errorf("explain %s lookup: %w", table, err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Index") && !strings.Contains(text, "Seq Scan") {
			n++
		}
	}
	return n, nil
}

func withSearchPath(raw, schema string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// sizeLabel writes a size the way people say it: 10k, 1M.
func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return fmt.Sprint(n)
	}
}

func randomTag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
