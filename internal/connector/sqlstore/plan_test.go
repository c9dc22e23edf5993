package sqlstore

import (
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

const planMap = `
stores:
  - name: crm
    kind: sql
    connection: {driver: postgres, dsn_env: CRM_DSN}
    tables:
      - table: sales.orders
        identity: buyer
        primary_key: number
        pii: {number: order_history, card: payment_card_last4}
        suppress: {columns: {number: delete_row, card: null}}
      - table: order
        reached_through: {table: sales.orders, key: number, column: order_number}
        primary_key: id
        pii: {select: order_history}
        suppress: {columns: {select: delete_row}}
`

func planFor(t testing.TB, d datamap.Driver) plan {
	t.Helper()
	m, err := datamap.Parse("plan.yaml", []byte(planMap))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Stores[0]
	s.Connection.Driver = d
	return newPlan(s)
}

// Names from the map are quoted per dialect, reserved words included; values from
// requests are always parameters.
func TestStatementsQuoteNamesAndParameteriseValues(t *testing.T) {
	type want struct{ identity, link, update, delete, claim string }
	for d, w := range map[datamap.Driver]want{
		datamap.Postgres: {
			identity: `SELECT "number", "buyer", "card" FROM "sales"."orders" WHERE lower(trim("buyer")) = $1 ORDER BY "number" FOR UPDATE`,
			link:     `SELECT "id", "select", "order_number" FROM "order" WHERE "order_number" IN ($1, $2) ORDER BY "id"`,
			update:   `UPDATE "sales"."orders" SET "card" = $1 WHERE "number" IN ($2)`,
			delete:   `DELETE FROM "order" WHERE "id" IN ($1, $2)`,
			claim:    `INSERT INTO "dsr_applied_operations" (store, request_id, operation, result, applied_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		},
		datamap.MySQL: {
			identity: "SELECT `number`, `buyer`, `card` FROM `sales`.`orders` WHERE lower(trim(`buyer`)) = ? ORDER BY `number` FOR UPDATE",
			link:     "SELECT `id`, `select`, `order_number` FROM `order` WHERE `order_number` IN (?, ?) ORDER BY `id`",
			update:   "UPDATE `sales`.`orders` SET `card` = ? WHERE `number` IN (?)",
			delete:   "DELETE FROM `order` WHERE `id` IN (?, ?)",
			claim:    "INSERT INTO `dsr_applied_operations` (store, request_id, operation, result, applied_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE request_id = request_id",
		},
		datamap.SQLite: {
			identity: `SELECT "number", "buyer", "card" FROM "sales"."orders" WHERE lower(trim("buyer")) = ? ORDER BY "number"`,
			link:     `SELECT "id", "select", "order_number" FROM "order" WHERE "order_number" IN (?, ?) ORDER BY "id"`,
			update:   `UPDATE "sales"."orders" SET "card" = ? WHERE "number" IN (?)`,
			delete:   `DELETE FROM "order" WHERE "id" IN (?, ?)`,
			claim:    `INSERT INTO "dsr_applied_operations" (store, request_id, operation, result, applied_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		},
	} {
		p := planFor(t, d)
		orders, lines := &p.tables[0], &p.tables[1]
		got := want{
			identity: p.byIdentity(orders, "x@example.com", true).String(),
			link:     p.byLink(lines, []any{"A", "B"}, false).String(),
			update:   p.update(orders, []assignment{{"card", nil, connector.ActionNull}}, []any{"A"}).String(),
			delete:   p.delete(lines, []any{1, 2}).String(),
			claim:    p.claim(datamap.DefaultBookkeepingTable),
		}
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", d, got, w)
		}
	}
}

func TestLongKeyListsAreSplitIntoBatches(t *testing.T) {
	keys := make([]any, 2*batchSize+1)
	var sizes []int
	for _, b := range batches(keys) {
		sizes = append(sizes, len(b))
	}
	if len(sizes) != 3 || sizes[0] != batchSize || sizes[2] != 1 {
		t.Errorf("got batches of %v", sizes)
	}
}

// BenchmarkBuildStatements measures planning a store and writing the statements of one
// suppression: the lookup, an update and a full batch of deletions.
func BenchmarkBuildStatements(b *testing.B) {
	m, err := datamap.Parse("plan.yaml", []byte(planMap))
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]any, batchSize)
	for i := range keys {
		keys[i] = i
	}
	b.ReportAllocs()
	for b.Loop() {
		p := newPlan(m.Stores[0])
		orders, lines := &p.tables[0], &p.tables[1]
		_ = p.byIdentity(orders, "x@example.com", true).String()
		_ = p.byLink(lines, keys[:10], true).String()
		_ = p.update(orders, []assignment{{"card", nil, connector.ActionNull}}, keys[:1]).String()
		_ = p.delete(lines, keys).String()
	}
}
