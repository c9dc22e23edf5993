package demo

import (
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// personalFields are the customer's correctable categories; each is also its column name.
var personalFields = []string{"name", "postal_address", "phone", "title", "occupation", "company", "username"}

// columnsOf lists the columns that hold a category: the postal code is part of the address.
func columnsOf(category string) []string {
	if category == "postal_address" {
		return []string{"postal_address", "postal_code"}
	}
	return []string{category}
}

type customer struct {
	Email                                                                        string
	Name, PostalAddress, PostalCode, Phone, Title, Occupation, Company, Username *string
	MarketingEmailOptIn, ShareWithAffiliates, ProcessingRestricted               bool
	CreatedAt                                                                    time.Time
}

func (c *customer) columns() map[string]*string {
	return map[string]*string{
		"name": c.Name, "postal_address": c.PostalAddress, "postal_code": c.PostalCode, "phone": c.Phone,
		"title": c.Title, "occupation": c.Occupation, "company": c.Company, "username": c.Username,
	}
}

// holds reports whether the customer row holds a value of category.
func (c *customer) holds(category string) bool {
	cols := c.columns()
	return slices.ContainsFunc(columnsOf(category), func(col string) bool { return cols[col] != nil && *cols[col] != "" })
}

type order struct {
	OrderNumber string
	OrderedAt   time.Time
	TotalCents  int64
	CardLast4   *string `gorm:"column:card_last4"`
}

type webLog struct {
	IP   string `gorm:"column:ip"`
	Path string
	At   time.Time
}

// holding is everything the store holds for one e-mail address.
type holding struct {
	customer *customer
	orders   []order
	logs     []webLog
}

func load(db *gorm.DB, email string) (holding, error) {
	var h holding
	var cs []customer
	if err := db.Raw(`SELECT * FROM customers WHERE email = ?`, email).Scan(&cs).Error; err != nil {
		return h, err
	}
	if len(cs) > 0 {
		h.customer = &cs[0]
	}
	if err := db.Raw(`SELECT order_number, ordered_at, total_cents, card_last4 FROM orders
		WHERE customer_email = ? ORDER BY ordered_at, order_number`, email).Scan(&h.orders).Error; err != nil {
		return h, err
	}
	err := db.Raw(`SELECT ip, path, at FROM web_logs WHERE customer_email = ? ORDER BY at, id`, email).Scan(&h.logs).Error
	return h, err
}

func (h holding) empty() bool { return h.customer == nil && len(h.orders) == 0 && len(h.logs) == 0 }

// categories lists the categories held, in the order of domain.DefaultCategories.
func (h holding) categories() []string {
	var found []string
	for _, f := range personalFields {
		if h.customer != nil && h.customer.holds(f) {
			found = append(found, f)
		}
	}
	if len(h.orders) > 0 {
		found = append(found, "order_history")
	}
	if slices.ContainsFunc(h.orders, func(o order) bool { return o.CardLast4 != nil }) {
		found = append(found, "payment_card_last4")
	}
	if len(h.logs) > 0 {
		found = append(found, "server_logs")
	}
	return found
}

// export returns the records held. Orders carry at most the card's last 4 digits, because
// the full number is never collected by the company.
func (h holding) export() map[string]any {
	out := map[string]any{}
	if c := h.customer; c != nil {
		rec := map[string]any{"email": c.Email, "marketing_email_opt_in": c.MarketingEmailOptIn,
			"share_with_affiliates": c.ShareWithAffiliates, "processing_restricted": c.ProcessingRestricted,
			"created_at": c.CreatedAt}
		for col, v := range c.columns() {
			if v != nil {
				rec[col] = *v
			}
		}
		out["customer"] = rec
	}
	var orders, logs []map[string]any
	for _, o := range h.orders {
		rec := map[string]any{"order_number": o.OrderNumber, "ordered_at": o.OrderedAt, "total_cents": o.TotalCents}
		if o.CardLast4 != nil {
			rec["card_last4"] = *o.CardLast4
		}
		orders = append(orders, rec)
	}
	for _, l := range h.logs {
		logs = append(logs, map[string]any{"ip": l.IP, "path": l.Path, "at": l.At})
	}
	if orders != nil {
		out["orders"] = orders
	}
	if logs != nil {
		out["web_logs"] = logs
	}
	return out
}

// dataPoints returns the values on file that an identity answer named key may match.
func (h holding) dataPoints(key string) []string {
	c := h.customer
	switch {
	case key == "postal_code" && c != nil && c.PostalCode != nil:
		return []string{*c.PostalCode}
	case key == "phone_last4" && c != nil && c.Phone != nil && lastFour(*c.Phone) != "":
		return []string{lastFour(*c.Phone)}
	case key == "order_number":
		var numbers []string
		for _, o := range h.orders {
			numbers = append(numbers, o.OrderNumber)
		}
		return numbers
	}
	return nil
}

var separators = strings.NewReplacer(" ", "", "-", "")

// normalise makes answers compare equal however they were typed: "bs1-4dj" matches "BS1 4DJ".
func normalise(s string) string { return separators.Replace(strings.ToLower(strings.TrimSpace(s))) }

// lastFour returns the last four digits of a phone number, or "" if it has fewer.
func lastFour(phone string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	if len(digits) < 4 {
		return ""
	}
	return digits[len(digits)-4:]
}
