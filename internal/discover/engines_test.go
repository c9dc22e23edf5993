package discover_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
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
// them, the addresses table keyed to customers and the billing addresses customers point
// at are left out; the regions they point at hold no personal data.
var shopSchema = []string{
	`CREATE TABLE regions (code VARCHAR(8) PRIMARY KEY, label VARCHAR(80))`,
	`CREATE TABLE billing_addresses (id INTEGER PRIMARY KEY, line1 VARCHAR(200))`,
	`CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL, full_name VARCHAR(200), mobile VARCHAR(40),
		region VARCHAR(8), billing_address_id INTEGER,
		FOREIGN KEY (region) REFERENCES regions (code), FOREIGN KEY (billing_address_id) REFERENCES billing_addresses (id))`,
	`CREATE TABLE addresses (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, street VARCHAR(200), ip VARCHAR(64),
		FOREIGN KEY (customer_id) REFERENCES customers (id))`,
	`INSERT INTO regions VALUES ('no', 'Norway'), ('uk', 'United Kingdom')`,
	`INSERT INTO billing_addresses VALUES (1, '12 Park Row'), (2, '3 Church Street')`,
	`INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace', '+47 912 34 567', 'uk', 1), (2, 'bob@example.com', 'Bob Byron', '0047 913 45 678', 'no', 2)`,
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
			links := map[string]discover.Link{}
			for _, s := range report.Stores {
				for _, tr := range s.Tables {
					for _, f := range tr.Columns {
						got[tr.Table+"."+f.Column] = f.Category
					}
					if tr.Link != nil {
						links[tr.Table] = *tr.Link
					}
				}
			}
			want := map[string]discover.Kind{"customers.mobile": discover.Phone, "addresses.street": discover.PostalAddress,
				"addresses.ip": discover.IPAddress, "billing_addresses.line1": discover.PostalAddress}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("findings %v, want %v", got, want)
			}
			wantLinks := map[string]discover.Link{
				"addresses":         {Table: "addresses", Column: "customer_id", RefTable: "customers", RefColumn: "id", Child: true},
				"billing_addresses": {Table: "customers", Column: "billing_address_id", RefTable: "billing_addresses", RefColumn: "id"},
			}
			if fmt.Sprint(links) != fmt.Sprint(wantLinks) {
				t.Errorf("links %+v, want %+v", links, wantLinks)
			}
		})
	}
}

func TestDiscoverDoesNotCreateAMissingSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := discover.Map(ctx, shopMap(t, datamap.Connection{Driver: datamap.SQLite, DSN: path}), discover.Options{})
	if err == nil {
		t.Error("discover scanned a database that does not exist")
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("%s now exists (%v), want it left alone", path, statErr)
	}
}
