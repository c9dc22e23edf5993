package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
)

// typoMap describes the test shop with one typo of each kind; the comments give the lines
// the problems must name.
const typoMap = `stores:
  - name: shop
    kind: sql
    connection: {driver: sqlite, dsn: shop.db}
    identity_data_points:
      - {name: postal_code, table: customers, column: zipp}   # 6
    recipients:
      - name: Shop Affiliate AB                                # 8
        relation: affiliate
        email: privacy@affiliate.example
        disclosed_when: {table: customers, column: newsleter}
    tables:
      - table: customers
        identity: emial                                        # 14
        primary_key: id
        pii: {ful_name: name, zip: postal_address}             # 16
        suppress: {columns: {ful_name: null, zip: mask}}
      - table: orders
        identity: buyer_email
        primary_key: numbr                                     # 20
        pii: {placed_at: order_history}
        suppress: {columns: {placed_at: delete_row}}
      - table: order_lines
        reached_through: {table: orders, key: nuber, column: order_number}  # 24
        primary_key: id
        pii: {product: order_history}
        suppress: {columns: {product: delete_row}}
      - table: visitz                                          # 28
        identity: email
        primary_key: id
        pii: {ip: server_logs}
        suppress: {columns: {ip: delete_row}}
`

// Every table, column, key and identity column the map names is looked up in the
// database's catalog at start, and each typo is one line naming the map's file and line
// and the nearest real name, all reported together.
func TestOpenAllNamesEveryTypoWithItsLineAndTheNearestRealName(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			createShop(t, e)
			m, err := datamap.Parse("shop.yaml", []byte(typoMap))
			if err != nil {
				t.Fatal(err)
			}
			m.Stores[0].Connection = e.conn
			conns, _, err := sqlstore.OpenAll(ctx, m)
			var problems datamap.Errors
			if !errors.As(err, &problems) {
				t.Fatalf("got %d connectors and %v, want the data map's problems", len(conns), err)
			}
			same(t, "problems", strings.Split(problems.Error(), "\n"), []string{
				"shop.yaml:6: column `zipp` not in table `customers` (did you mean `zip`?)",
				"shop.yaml:8: column `newsleter` not in table `customers` (did you mean `newsletter`?)",
				"shop.yaml:14: identity column `emial` not in table `customers` (did you mean `email`?)",
				"shop.yaml:16: column `ful_name` not in table `customers` (did you mean `full_name`?)",
				"shop.yaml:20: primary key `numbr` not in table `orders` (did you mean `number`?)",
				"shop.yaml:24: key `nuber` not in table `orders` (did you mean `number`?)",
				"shop.yaml:28: table `visitz` not in the database of store `shop` (did you mean `visits`?)",
			})
		})
	}
}

// A table written as schema.table (PostgreSQL) or database.table (MariaDB) is looked up
// there, and its nearest real name is suggested in the same form.
func TestASchemaQualifiedTableIsLookedUpInItsSchema(t *testing.T) {
	for _, e := range engines(t)[:2] {
		t.Run(e.name, func(t *testing.T) {
			createShop(t, e)
			db := openDB(t, e)
			var schema string
			query := map[datamap.Driver]string{datamap.Postgres: "SELECT current_schema()", datamap.MySQL: "SELECT DATABASE()"}
			if err := db.QueryRowContext(ctx, query[e.conn.Driver]).Scan(&schema); err != nil {
				t.Fatal(err)
			}
			store := shopStore(t, e.conn)
			store.Tables[3].Name = schema + ".visits"
			problems, err := sqlstore.CheckSchema(ctx, db, "shop.yaml", store)
			if err != nil || len(problems) > 0 {
				t.Fatalf("qualified name of a real table: got %v, %v", problems, err)
			}
			store.Tables[3].Name = schema + ".visit"
			problems, err = sqlstore.CheckSchema(ctx, db, "shop.yaml", store)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "problems", problems.Error(), fmt.Sprintf(
				"shop.yaml:%d: table `%s.visit` not in the database of store `shop` (did you mean `%s.visits`?)", store.Tables[3].Line, schema, schema))
		})
	}
}

func TestAMissingNameFarFromEveryRealOneGetsNoSuggestion(t *testing.T) {
	e := engine{"sqlite", datamap.Connection{Driver: datamap.SQLite, DSN: filepath.Join(t.TempDir(), "shop.db")}}
	createShop(t, e)
	far := strings.Replace(shopMap, "columns: [email, newsletter, created_at]", "columns: [email, newsletter, created_at, loyalty_tier]", 1)
	m, err := datamap.Parse("shop.yaml", []byte(far))
	if err != nil {
		t.Fatal(err)
	}
	m.Stores[0].Connection = e.conn
	problems, err := sqlstore.CheckSchema(ctx, openDB(t, e), "shop.yaml", m.Stores[0])
	if err != nil {
		t.Fatal(err)
	}
	same(t, "problems", problems.Error(), "shop.yaml:18: column `loyalty_tier` not in table `customers`")
}

// The shop's own map, which matches its schema, opens on every engine.
func TestOpenAllAcceptsAMapThatMatchesTheDatabase(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			createShop(t, e)
			m, err := datamap.Parse("shop.yaml", []byte(shopMap))
			if err != nil {
				t.Fatal(err)
			}
			m.Stores[0].Connection = e.conn
			conns, closeAll, err := sqlstore.OpenAll(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll()
			same(t, "connectors", len(conns), 1)
		})
	}
}

// The demo company's map matches the tables the demo creates, on both engines it runs on.
func TestTheDemoMapMatchesTheDemoDatabases(t *testing.T) {
	for engine, target := range demoTargets(t) {
		t.Run(engine, func(t *testing.T) {
			m, err := demo.Setup(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			conns, closeAll, err := sqlstore.OpenAll(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll()
			if len(conns) == 0 {
				t.Error("the demo map has no sql stores")
			}
		})
	}
}

// Opening a SQLite file that is not there would create an empty database in which every
// request finds nothing; the store is refused instead, and no file is left behind.
func TestASQLiteStoreWhoseFileDoesNotExistIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	store := shopStore(t, datamap.Connection{Driver: datamap.SQLite, DSN: path})
	_, _, err := sqlstore.Open(ctx, store)
	if err == nil || !strings.Contains(err.Error(), "SQLite file "+path+" does not exist") {
		t.Errorf("got %v, want the missing file refused", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the missing file was created: %v", statErr)
	}
}

func createShop(t *testing.T, e engine) {
	t.Helper()
	db := openDB(t, e)
	for _, stmt := range shopSchema(e.conn.Driver) {
		mustExec(t, db, e.conn.Driver, stmt)
	}
}

func openDB(t *testing.T, e engine) *sql.DB {
	t.Helper()
	db, err := sqlstore.OpenDB(ctx, e.conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
