package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// mariaDBServer is the MariaDB (or MySQL) server the tests use; DSR_TEST_MYSQL_DSN
// overrides it with a DSN whose database part is ignored.
const mariaDBServer = "root@tcp(127.0.0.1:3306)/test"

// mariaDB returns the DSN of a new database on the MariaDB server, dropped when the test
// ends. The tests fail, never skip, when the server does not answer.
func mariaDB(t testing.TB) string {
	t.Helper()
	server := mariaDBServer
	if v := os.Getenv("DSR_TEST_MYSQL_DSN"); v != "" {
		server = v
	}
	admin, err := sql.Open("mysql", server)
	if err != nil {
		t.Fatalf("MariaDB: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB is needed at 127.0.0.1:3306 (user root, empty password; or set DSR_TEST_MYSQL_DSN) and does not answer: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "dsr_t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("MariaDB: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("MariaDB: drop database: %v", err)
		}
	})
	server = server[:strings.LastIndex(server, "/")+1]
	if i := strings.Index(server, "?"); i >= 0 {
		server = server[:i]
	}
	return server + name
}

// engine is a fresh, empty database of one engine.
type engine struct {
	name string
	conn datamap.Connection
}

func engines(t *testing.T) []engine {
	return []engine{
		{"postgres", datamap.Connection{Driver: datamap.Postgres, DSN: testenv.PostgresURL(t)}},
		{"mariadb", datamap.Connection{Driver: datamap.MySQL, DSN: mariaDB(t)}},
		{"sqlite", datamap.Connection{Driver: datamap.SQLite, DSN: filepath.Join(t.TempDir(), "shop.db")}},
	}
}

// shopMap describes the test shop: customers with a legal-hold flag, orders kept 7 years
// for tax law with a legal hold of their own, order lines reached through their order, and
// web visits.
const shopMap = `
stores:
  - name: shop
    kind: sql
    connection: {driver: sqlite, dsn_env: SHOP_DSN}
    identity_data_points:
      - {name: postal_code, table: customers, column: zip}
      - {name: phone_last4, table: customers, column: phone, match: last4}
      - {name: order_number, table: orders, column: number}
    recipients:
      - {name: Shop Affiliate AB, relation: affiliate, email: privacy@affiliate.example}
      - {name: Parcel Co, relation: service_provider, webhook: "https://parcel.example/dsr"}
    tables:
      - table: customers
        identity: email
        primary_key: id
        pii: {full_name: name, zip: postal_address, phone: phone, nickname: username}
        review: {columns: [email, newsletter, created_at]}
        correct: {name: full_name, postal_address: zip, phone: phone, username: nickname}
        suppress:
          all: delete_row
          columns: {full_name: null, zip: mask, phone: hash, nickname: null}
        restrict:
          marketing_email: {column: newsletter, value: false}
          affiliate_sharing: {column: share_level, value: 0, lifted: 2}
          all_processing: {column: restricted, value: true}
        legal_hold: legal_hold
      - table: orders
        identity: buyer_email
        primary_key: number
        pii: {number: order_history, placed_at: order_history, card_last4: payment_card_last4}
        review: {notes: [Card numbers are held by the payment service.]}
        suppress: {columns: {number: delete_row, placed_at: delete_row, card_last4: null}}
        retention:
          - column: placed_at
            younger_than: 7 years
            basis: Tax law (GDPR Art. 17(3)(b))
            describe: order {number} of {placed_at}
        legal_hold: {column: on_hold, basis: Disputed order under legal claim}
      - table: order_lines
        reached_through: {table: orders, key: number, column: order_number}
        primary_key: id
        pii: {product: order_history, gift_message: profile}
        suppress: {columns: {product: delete_row, gift_message: null}}
      - table: visits
        identity: {column: email, normalised: true}
        primary_key: id
        pii: {ip: server_logs}
        suppress: {columns: {ip: delete_row}}
`

func shopStore(t testing.TB, conn datamap.Connection) datamap.Store {
	t.Helper()
	m, err := datamap.Parse("shop.yaml", []byte(shopMap))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Stores[0]
	s.Connection = conn
	return s
}

func shopSchema(d datamap.Driver) []string {
	ts := "TIMESTAMP"
	if d == datamap.MySQL {
		ts = "DATETIME"
	}
	return []string{
		`CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, full_name VARCHAR(255), zip VARCHAR(64),
			phone VARCHAR(64), nickname VARCHAR(64), newsletter BOOLEAN NOT NULL, share_level INT NOT NULL,
			restricted BOOLEAN NOT NULL, legal_hold BOOLEAN NOT NULL, created_at ` + ts + ` NOT NULL)`,
		`CREATE TABLE orders (number VARCHAR(32) PRIMARY KEY, buyer_email VARCHAR(255) NOT NULL, placed_at ` + ts + ` NOT NULL,
			card_last4 VARCHAR(4), on_hold BOOLEAN NOT NULL)`,
		`CREATE TABLE order_lines (id BIGINT PRIMARY KEY, order_number VARCHAR(32) NOT NULL REFERENCES orders (number),
			product VARCHAR(255) NOT NULL, gift_message VARCHAR(255))`,
		`CREATE TABLE visits (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, ip VARCHAR(64) NOT NULL)`,
	}
}

// shopTables are the fixture's tables, in an order they can be emptied in, with their keys.
var shopTables = [][2]string{{"order_lines", "id"}, {"orders", "number"}, {"customers", "id"}, {"visits", "id"}}

// now is the tests' clock; dates in the fixture are whole days before it.
var now = time.Now().UTC().Truncate(time.Second)

func daysAgo(n int) time.Time { return now.AddDate(0, 0, -n) }

// seedShop empties the fixture's tables and fills them again.
func seedShop(t testing.TB, db *sql.DB, d datamap.Driver) {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, table := range shopTables {
		mustExec(t, tx, d, "DELETE FROM "+table[0])
	}
	for _, c := range [][]any{
		{1, " Ada@Example.COM ", "Ada Lovelace", "NW1 2DB", "+44 20 7946 0001", "ada", true, 2, false, false, daysAgo(2000)},
		{2, "ben@example.com", "Ben Hold", "EC1A 1BB", "+44 20 7946 0002", nil, false, 0, false, true, daysAgo(2000)},
	} {
		mustExec(t, tx, d, `INSERT INTO customers (id, email, full_name, zip, phone, nickname, newsletter, share_level, restricted,
			legal_hold, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c...)
	}
	for _, o := range [][]any{
		{"A-OLD", "ada@example.com", daysAgo(3000), "4242", false},
		{"A-NEW", "ADA@example.com", daysAgo(100), "4242", false},
		{"B-1", "ben@example.com", daysAgo(3000), nil, true},
	} {
		mustExec(t, tx, d, `INSERT INTO orders (number, buyer_email, placed_at, card_last4, on_hold) VALUES (?, ?, ?, ?, ?)`, o...)
	}
	for _, l := range [][]any{
		{1, "A-OLD", "Analytical Engine manual", "Happy birthday"}, {2, "A-OLD", "Punched cards", nil},
		{3, "A-NEW", "Brass gears", nil}, {4, "B-1", "Legal pad", nil},
	} {
		mustExec(t, tx, d, `INSERT INTO order_lines (id, order_number, product, gift_message) VALUES (?, ?, ?, ?)`, l...)
	}
	for _, v := range [][]any{{1, "ada@example.com", "192.0.2.1"}, {2, "ada@example.com", "192.0.2.2"}, {3, "cy@example.com", "192.0.2.3"}} {
		mustExec(t, tx, d, `INSERT INTO visits (id, email, ip) VALUES (?, ?, ?)`, v...)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func mustExec(t testing.TB, db execer, d datamap.Driver, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(ctx, rebind(d, query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// rebind turns ? placeholders into PostgreSQL's $1, $2…
func rebind(d datamap.Driver, query string) string {
	if d != datamap.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shop is the fixture on one engine: the connector under test and a second connection
// through which the test looks at the rows.
type shop struct {
	engine
	driver    datamap.Driver
	store     datamap.Store
	connector connector.Connector
	db        *sql.DB
}

var hashKey = []byte("test hash key, 32 bytes long!!!!")

// sealing is the key ring that seals a correction's old values in the bookkeeping table.
var sealing = func() *codec.Keyring {
	ring, err := codec.ParseKeyring("test:" + base64.StdEncoding.EncodeToString([]byte("test sealing key, 32 bytes long!")))
	if err != nil {
		panic(err)
	}
	return ring
}()

// eachShop runs f against a freshly seeded shop on every engine.
func eachShop(t *testing.T, f func(t *testing.T, s shop)) { eachShopWith(t, nil, f) }

// eachShopWith is eachShop with the shop's data map entry changed by edit first.
func eachShopWith(t *testing.T, edit func(*datamap.Store), f func(t *testing.T, s shop)) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db, err := sqlstore.OpenDB(ctx, e.conn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			for _, stmt := range shopSchema(e.conn.Driver) {
				mustExec(t, db, e.conn.Driver, stmt)
			}
			seedShop(t, db, e.conn.Driver)
			store := shopStore(t, e.conn)
			if edit != nil {
				edit(&store)
			}
			c, sdb, err := sqlstore.Open(ctx, store, sqlstore.WithClock(func() time.Time { return now }), sqlstore.WithHashKey(hashKey),
				sqlstore.WithSealing(sealing))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sdb.Close() })
			f(t, shop{engine: e, driver: e.conn.Driver, store: store, connector: c, db: db})
		})
	}
}

// dump returns every row of the fixture's tables as text, so that two states compare equal.
func (s shop) dump(t testing.TB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range shopTables {
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+table[0]+" ORDER BY "+table[1])
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
			var b strings.Builder
			for i, v := range vals {
				if by, ok := v.([]byte); ok {
					v = string(by)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			out[table[0]] = append(out[table[0]], b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

func (s shop) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(ctx, rebind(s.driver, query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (s shop) value(t testing.TB, query string, args ...any) any {
	t.Helper()
	var v any
	if err := s.db.QueryRowContext(ctx, rebind(s.driver, query), args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

func (s shop) placedAt(t testing.TB, number string) time.Time {
	t.Helper()
	var at time.Time
	if err := s.db.QueryRowContext(ctx, rebind(s.driver, "SELECT placed_at FROM orders WHERE number = ?"), number).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

func must(t testing.TB) func(connector.Result, error) connector.Result {
	return func(r connector.Result, err error) connector.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}
