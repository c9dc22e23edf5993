package faults

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The company systems the load changes: two SQL stores, each a schema of the stores
// database. A trigger in each counts every update of a row, so "applied once" is a count
// and not a guess. Each request of the load has a person of its own (row id = the
// request's number in the load), so counts never mix.

const storesDataMap = `stores:
  - name: crm
    kind: sql
    connection: {driver: postgres, dsn_env: FAULTS_CRM_DSN}
    identity_data_points:
      - {name: postal_code, table: customers, column: postal_code}
      - {name: order_number, table: customers, column: order_number}
    tables:
      - table: customers
        identity: email
        primary_key: id
        pii: {name: name, postal_code: postal_address, order_number: order_history}
        correct: {name: name}
        suppress: {columns: {name: "null", postal_code: "null", order_number: "null"}}
        restrict:
          marketing_email: {column: newsletter, value: false}
  - name: billing
    kind: sql
    connection: {driver: postgres, dsn_env: FAULTS_BILLING_DSN}
    tables:
      - table: accounts
        identity: email
        primary_key: id
        pii: {name: name}
        correct: {name: name}
        suppress: {columns: {name: "null"}}
        restrict:
          affiliate_sharing: {column: share_with_affiliates, value: false}
`

func createStores(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, s := range []string{
		`CREATE SCHEMA crm`, `CREATE SCHEMA billing`, `CREATE SCHEMA counts`,
		`CREATE TABLE crm.customers (id int PRIMARY KEY, email text NOT NULL, name text, postal_code text, order_number text, newsletter boolean NOT NULL)`,
		`CREATE TABLE billing.accounts (id int PRIMARY KEY, email text NOT NULL, name text, share_with_affiliates boolean NOT NULL)`,
		// The counters live outside the stores' schemas, so renaming a store away keeps them.
		`CREATE TABLE counts.row_updates (store text NOT NULL, id int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
		`CREATE FUNCTION counts.count_update() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO counts.row_updates (store, id) VALUES (TG_ARGV[0], NEW.id); RETURN NEW; END $$`,
		`CREATE TRIGGER counted AFTER UPDATE ON crm.customers FOR EACH ROW EXECUTE FUNCTION counts.count_update('crm')`,
		`CREATE TRIGGER counted AFTER UPDATE ON billing.accounts FOR EACH ROW EXECUTE FUNCTION counts.count_update('billing')`,
	} {
		if _, err := pool.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return pool
}

// person is the one whose rows a request of the load reads or changes.
type person struct {
	id                      int
	email, name             string
	postalCode, orderNumber string
}

// newPerson is person n of a run; tag keeps the addresses of runs apart in the sink.
func newPerson(n int, tag string) person {
	return person{id: n, email: fmt.Sprintf("p%d-%s@example.com", n, tag), name: fmt.Sprintf("Person %d", n),
		postalCode: strconv.Itoa(1000 + n), orderNumber: fmt.Sprintf("ORD-%06d", n)}
}

// seedPeople gives persons 1…n their rows before the load starts, so that a store fault
// meets dsr's requests rather than the suite's own set-up.
func seedPeople(ctx context.Context, pool *pgxpool.Pool, n int, tag string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO crm.customers SELECT i, 'p' || i || '-' || $2 || '@example.com', 'Person ' || i,
			(1000 + i)::text, 'ORD-' || lpad(i::text, 6, '0'), true FROM generate_series(1, $1::int) i`, n, tag); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO billing.accounts SELECT i, 'p' || i || '-' || $2 || '@example.com', 'Person ' || i, true
			FROM generate_series(1, $1::int) i`, n, tag)
		return err
	})
}

// seed gives the person a row in each store.
func seed(ctx context.Context, pool *pgxpool.Pool, p person) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO crm.customers VALUES ($1, $2, $3, $4, $5, true) ON CONFLICT DO NOTHING`, p.id, p.email, p.name, p.postalCode, p.orderNumber); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO billing.accounts VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING`, p.id, p.email, p.name)
		return err
	})
}

// storeRow is what one store holds of a person after a request, and how often the row was
// updated and the request's change booked.
type storeRow struct {
	name    *string
	flag    bool
	updates int
	booked  int
}

func readRow(ctx context.Context, pool *pgxpool.Pool, store string, id int, requestID string) (storeRow, error) {
	table, flag := "crm.customers", "newsletter"
	if store == "billing" {
		table, flag = "billing.accounts", "share_with_affiliates"
	}
	var r storeRow
	err := pool.QueryRow(ctx, `SELECT name, `+flag+`, (SELECT count(*) FROM counts.row_updates WHERE store = $2 AND id = $1),
		(SELECT count(*) FROM `+store+`.dsr_applied_operations WHERE request_id = $3) FROM `+table+` WHERE id = $1`,
		id, store, requestID).Scan(&r.name, &r.flag, &r.updates, &r.booked)
	if err != nil && isUndefinedTable(err) {
		// No change was ever booked in this store yet, so its bookkeeping table is missing.
		err = pool.QueryRow(ctx, `SELECT name, `+flag+`, (SELECT count(*) FROM counts.row_updates WHERE store = $2 AND id = $1) FROM `+table+` WHERE id = $1`,
			id, store).Scan(&r.name, &r.flag, &r.updates)
	}
	return r, err
}
