package discover_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/discover"
	"github.com/dsr-project/dsr/internal/testenv"
)

// mariaDB returns the DSN of a new database on the MariaDB server at 127.0.0.1:3306 (root,
// no password), dropped when the test ends. The test fails when the server does not answer.
func mariaDB(t *testing.T) string {
	t.Helper()
	admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB is needed at 127.0.0.1:3306 (user root, empty password): %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "dsr_t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	return "root@tcp(127.0.0.1:3306)/" + name
}

// A shop whose map names its customers' e-mail and name only: the mobile number beside
// them and the addresses table keyed to customers are left out.
var shopSchema = []string{
	`CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL, full_name VARCHAR(200), mobile VARCHAR(40))`,
	`CREATE TABLE addresses (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, street VARCHAR(200), ip VARCHAR(64),
		FOREIGN KEY (customer_id) REFERENCES customers (id))`,
	`INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace', '+47 912 34 567'), (2, 'bob@example.com', 'Bob Byron', '0047 913 45 678')`,
	`INSERT INTO addresses VALUES (1, 1, '12 Park Row', '198.51.100.7'), (2, 2, '3 Kirkegata', '2001:db8::1')`,
}

func shopMap(t *testing.T, c datamap.Connection) *datamap.Map {
	t.Helper()
	m, err := datamap.Parse("shop.yaml", fmt.Appendf(nil, `stores:
  - name: shop
    kind: sql
    connection: {driver: %s, dsn: %s}
    tables:
      - table: customers
        identity: email
        primary_key: id
        pii: {full_name: name}
        suppress: {all: delete_row, columns: {full_name: null}}
`, c.Driver, strconv.Quote(c.DSN)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiscoverReadsTheCatalogOfEachEngine(t *testing.T) {
	for _, e := range []struct {
		name string
		conn datamap.Connection
	}{
		{"postgres", datamap.Connection{Driver: datamap.Postgres, DSN: testenv.PostgresURL(t)}},
		{"mariadb", datamap.Connection{Driver: datamap.MySQL, DSN: mariaDB(t)}},
		{"sqlite", datamap.Connection{Driver: datamap.SQLite, DSN: filepath.Join(t.TempDir(), "shop.db")}},
	} {
		t.Run(e.name, func(t *testing.T) {
			db, err := sqlstore.OpenDB(ctx, e.conn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range shopSchema {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			report, err := discover.Map(ctx, shopMap(t, e.conn), discover.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]discover.Kind{}
			var link *discover.Link
			for _, s := range report.Stores {
				for _, tr := range s.Tables {
					for _, f := range tr.Columns {
						got[tr.Table+"."+f.Column] = f.Category
					}
					if tr.Table == "addresses" {
						link = tr.Link
					}
				}
			}
			want := map[string]discover.Kind{"customers.mobile": discover.Phone, "addresses.street": discover.PostalAddress, "addresses.ip": discover.IPAddress}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("findings %v, want %v", got, want)
			}
			wantLink := discover.Link{Table: "addresses", Column: "customer_id", RefTable: "customers", RefColumn: "id", Child: true}
			if link == nil || *link != wantLink {
				t.Errorf("addresses linked by %+v, want %+v", link, wantLink)
			}
		})
	}
}
