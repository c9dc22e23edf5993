package datamap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/datamap"
)

// labelled is a small map that names everything to people, in English and Norwegian.
const labelled = `categories:
  - name: name
    label: {en: Your name, nb: Navnet ditt}
  - name: newsletter_subscriptions
    label: Newsletter subscriptions
    description: {en: The mailing lists you signed up to, nb: E-postlistene du meldte deg på}
stores:
  - name: shop
    label: {en: Web store, nb: Nettbutikk}
    kind: sql
    connection: {driver: sqlite, dsn: shop.db}
    tables:
      - table: orders
        label: {en: Your orders, nb: Dine bestillinger}
        description: Things you bought
        identity: email
        primary_key: id
        pii: {number: order_history, total_cents: order_history, buyer: name}
        review: {columns: [paid, placed_at]}
        suppress: {columns: {number: delete_row, total_cents: delete_row, buyer: null}}
        columns:
          total_cents: {label: {en: Total, nb: Sum}, format: money_cents, currency: GBP}
          paid: {label: Paid, format: boolean}
          placed_at: {label: Ordered on, format: date}
      - table: signups
        category: newsletter_subscriptions
        identity: email
        primary_key: id
        pii: {first_name: name, list: newsletter_subscriptions}
        suppress: {columns: {first_name: null, list: delete_row}}
`

func TestLabelsArePlainStringsOrByLanguage(t *testing.T) {
	m := parse(t, []byte(labelled))
	shop := m.Stores[0]
	same(t, "store label", []string{shop.LabelIn("en", shop.Name), shop.LabelIn("nb-NO", shop.Name), shop.LabelIn("de", shop.Name)},
		[]string{"Web store", "Nettbutikk", "Web store"})
	orders, signups := shop.Tables[0], shop.Tables[1]
	same(t, "table label", []string{orders.LabelIn("nb", orders.Name), orders.DescriptionIn("nb")}, []string{"Dine bestillinger", "Things you bought"})
	same(t, "unlabelled table reads its name", signups.LabelIn("nb", signups.Name), "Signups")
	same(t, "category label", m.CategoryDisplay("name").LabelIn("nb", "name"), "Navnet ditt")
	same(t, "category description", m.CategoryDisplay("newsletter_subscriptions").DescriptionIn("en"), "The mailing lists you signed up to")
	same(t, "unlabelled category reads its name", m.CategoryDisplay("order_history").LabelIn("en", "order_history"), "Order history")
}

func TestColumnsCarryALabelAndAFormat(t *testing.T) {
	orders := parse(t, []byte(labelled)).Stores[0].Tables[0]
	total := orders.DisplayOf("total_cents")
	same(t, "money", []any{total.LabelIn("nb", "total_cents"), total.Format, total.Currency}, []any{"Sum", datamap.FormatMoneyCents, "GBP"})
	same(t, "boolean", orders.DisplayOf("paid").Format, datamap.FormatBoolean)
	same(t, "date", orders.DisplayOf("placed_at").Format, datamap.FormatDate)
	same(t, "a column without display reads its name", orders.DisplayOf("buyer").LabelIn("en", "buyer"), "Buyer")
}

func TestATablesRecordsBelongToOneCategory(t *testing.T) {
	m := parse(t, []byte(labelled))
	var order []string
	for _, c := range m.Categories {
		order = append(order, c.Name)
	}
	orders, signups := m.Stores[0].Tables[0], m.Stores[0].Tables[1]
	same(t, "most columns", orders.MainCategory(order), "order_history")
	same(t, "as the map says", signups.MainCategory(order), "newsletter_subscriptions")
	signups.Category = ""
	same(t, "of equals, the later category", signups.MainCategory(order), "newsletter_subscriptions")
}

func TestBadLabelsAndFormatsAreReportedWithFileAndLine(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown format", "format: boolean", "format: yes_no",
			`valid.yaml:23: store "shop": table "orders": column "paid": unknown format "yes_no", want money_cents, boolean, date or datetime`},
		{"money without currency", "format: money_cents, currency: GBP", "format: money_cents",
			`valid.yaml:22: store "shop": table "orders": column "total_cents": format money_cents needs currency, an ISO 4217 code such as GBP`},
		{"currency that is no code", "currency: GBP", "currency: pounds",
			`valid.yaml:22: store "shop": table "orders": column "total_cents": currency: "pounds" is not an ISO 4217 code such as GBP`},
		{"currency without money", "{label: Paid, format: boolean}", "{label: Paid, format: boolean, currency: GBP}",
			`valid.yaml:23: store "shop": table "orders": column "paid": currency belongs to format money_cents`},
		{"label of a column the table does not show", "placed_at: {label", "shipped_at: {label",
			`valid.yaml:24: store "shop": table "orders": columns: "shipped_at" is not a pii or review column of the table`},
		{"bad language tag", "{en: Web store, nb: Nettbutikk}", "{en: Web store, Norsk: Nettbutikk}",
			`valid.yaml:9: store "shop": label: "Norsk" is not a language tag such as en or nb`},
		{"empty label", "label: Newsletter subscriptions", "label: \"\"",
			`valid.yaml:5: categories: label is empty`},
		{"label as a list", "label: {en: Your orders, nb: Dine bestillinger}", "label: [Your orders]",
			`valid.yaml:14: store "shop": table "orders": label: want a string, or a mapping of language tag to string such as {en: Orders, nb: Bestillinger}`},
		{"unknown table category", "category: newsletter_subscriptions", "category: mailing_lists",
			`valid.yaml:26: store "shop": table "signups": unknown category "mailing_lists" (declare it under categories)`},
		{"default category redefined", "  - name: name\n    label: {en: Your name, nb: Navnet ditt}\n", "  - name: name\n    correctable: false\n    label: Name\n",
			`valid.yaml:2: categories: category "name" is already defined`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(labelled, c.from) {
				t.Fatalf("the map lacks %q", c.from)
			}
			_, err := datamap.Parse("valid.yaml", []byte(strings.Replace(labelled, c.from, c.to, 1)))
			var problems datamap.Errors
			if !errors.As(err, &problems) {
				t.Fatalf("got %v, want datamap.Errors", err)
			}
			if err.Error() != c.want {
				t.Errorf("got\n%v\nwant\n%s", err, c.want)
			}
		})
	}
}

func TestALegalHoldWithoutDescriptionNamesTheTableByItsLabel(t *testing.T) {
	orders := parse(t, []byte(labelled)).Stores[0].Tables[0]
	got := datamap.RetentionRule{}.Description(orders, func(string) string { return "7" })
	same(t, "description", got, "Your orders 7")
}
