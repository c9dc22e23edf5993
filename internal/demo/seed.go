package demo

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DemoPerson is one person in the demo database: the address their requests come from and
// the answers to the identity questions (postal_code, phone_last4, order_number).
type DemoPerson struct {
	Email      string
	Name       string
	DataPoints map[string]string
}

type seedOrder struct {
	number    string
	ageDays   int
	cents     int64
	cardLast4 string // empty for an order paid by invoice
}

type seedPerson struct {
	id                                                                        int
	email, name, address, postalCode, phone, title, occupation, company, user string
	marketing, affiliates                                                     bool
	orders                                                                    []seedOrder
	logPaths                                                                  []string
}

// people are fictional; phone numbers are from ranges reserved for drama and IP addresses
// from the documentation ranges. Orders older than seven years (2557 days) are due for
// deletion, younger ones are kept for tax law.
var people = []seedPerson{
	{1, "alice@example.com", "Alice Archer", "12 Harbour Road, Bristol", "BS1 4DJ", "+44 117 496 0123", "Dr", "Veterinarian", "Archer Animal Care", "alice_a", true, true,
		[]seedOrder{{"DEMO-10001", 3300, 4999, "4242"}, {"DEMO-10002", 120, 12900, "4242"}}, []string{"/store", "/store/checkout"}},
	{2, "bob@example.com", "Bob Baker", "Storgata 5, Oslo", "0155", "+47 21 09 87 65", "Mr", "Teacher", "Oslo Skole", "bobb", true, false,
		[]seedOrder{{"DEMO-20001", 1000, 2500, "1881"}}, []string{"/products/antivirus"}},
	{3, "carol@example.com", "Carol Chen", "400 Market St, San Francisco CA", "94105", "+1 415 555 0142", "Ms", "Engineer", "Chen Labs", "cchen", false, true,
		[]seedOrder{{"DEMO-30001", 2900, 7999, "0005"}}, []string{"/account", "/forums/thread/17"}},
	{4, "dave@example.com", "Dave Dunn", "8 Mill Lane, Leeds", "LS1 1AA", "+44 113 496 0456", "", "Writer", "", "dave_writes", false, false,
		nil, []string{"/marketplace/item/9"}},
	{5, "erin@example.com", "Erin Evans", "22 Rue de Rivoli, Paris", "75004", "+33 1 99 00 12 34", "Mrs", "Architect", "Evans Atelier", "erin_e", true, true,
		[]seedOrder{{"DEMO-50001", 30, 19900, "3737"}, {"DEMO-50002", 400, 1500, ""}}, []string{"/store", "/account/profile"}},
	{6, "frank@example.com", "Frank Fischer", "Hauptstrasse 1, Berlin", "10115", "+49 30 1234 5678", "Herr", "Accountant", "Fischer GmbH", "ffischer", false, false,
		[]seedOrder{{"DEMO-60001", 3650, 999, "6011"}, {"DEMO-60002", 2000, 3499, "6011"}}, nil},
	// The documented demo person: one order past the retention period, one inside it.
	{7, "ada.lovelace@example.com", "Ada Lovelace", "12 St James's Square, London", "SW1Y 4JH", "+44 20 7946 0815", "Countess", "Mathematician", "Analytical Engines Ltd", "ada_l", true, true,
		[]seedOrder{{"DEMO-70001", 3000, 1843, "1815"}, {"DEMO-70002", 200, 1852, "1815"}}, []string{"/store", "/forums/thread/1843", "/account/profile"}},
}

// syntheticPeople are the demo store's crowd: deterministic, so every fresh data directory
// gets the same people, and numerous enough that lookups behave like a real customer base.
func syntheticPeople(n int) []seedPerson {
	first := []string{"Noor", "Liam", "Mei", "Tomás", "Aisha", "Jonas", "Priya", "Kofi", "Elena", "Ravi", "Sofia", "Yuki"}
	last := []string{"Okafor", "Lindqvist", "Tanaka", "García", "Haddad", "Novak", "Iyer", "Mensah", "Rossi", "Kowalski"}
	jobs := []string{"Nurse", "Designer", "Pilot", "Chef", "Analyst", "Librarian", "Plumber", "Student"}
	out := make([]seedPerson, n)
	for i := range n {
		id := 100 + i
		p := seedPerson{
			id:      id,
			email:   fmt.Sprintf("person%03d@example.org", i+1),
			name:    first[i%len(first)] + " " + last[(i/len(first))%len(last)],
			address: fmt.Sprintf("%d Example Street, Springfield", 1+i%97), postalCode: fmt.Sprintf("EX%02d %dAB", i%50, i%9),
			phone: fmt.Sprintf("+1 202 555 01%02d", i%100), occupation: jobs[i%len(jobs)], user: fmt.Sprintf("user%03d", i+1),
			marketing: i%3 != 0, affiliates: i%4 == 0,
		}
		for j := range i % 3 {
			p.orders = append(p.orders, seedOrder{fmt.Sprintf("SYN-%03d-%d", i+1, j+1), (i*37 + j*900) % 4000, int64(500 + i*13%9000), fmt.Sprintf("%04d", (i*7919)%10000)})
		}
		if i%2 == 0 {
			p.logPaths = []string{"/store", "/account"}
		}
		out[i] = p
	}
	return out
}

// SyntheticPeople is how many synthetic people the demo store holds besides DemoPeople.
const SyntheticPeople = 300

// DemoPeople returns the demo people with the data points that verify them.
func DemoPeople() []DemoPerson {
	out := make([]DemoPerson, 0, len(people))
	for _, p := range people {
		points := map[string]string{"postal_code": p.postalCode, "phone_last4": lastFour(p.phone)}
		if len(p.orders) > 0 {
			points["order_number"] = p.orders[0].number
		}
		out = append(out, DemoPerson{Email: p.email, Name: p.name, DataPoints: points})
	}
	return out
}

// Seed inserts every demo row that is missing, in one transaction, and leaves existing rows
// alone. A person deleted by a suppression therefore comes back, so the demo can be rerun.
func (s *Store) Seed(ctx context.Context) error {
	now := time.Now().UTC().Truncate(time.Second)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		logID := 0
		for _, p := range append(append([]seedPerson{}, people...), syntheticPeople(SyntheticPeople)...) {
			err := tx.Exec(`INSERT INTO customers (id, email, name, postal_address, postal_code, phone, title, occupation,
				company, username, marketing_email_opt_in, share_with_affiliates, processing_restricted, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				p.id, p.email, p.name, p.address, p.postalCode, p.phone, nullable(p.title), p.occupation,
				nullable(p.company), p.user, p.marketing, p.affiliates, false, now.AddDate(-10, 0, 0)).Error
			if err != nil {
				return err
			}
			for _, o := range p.orders {
				if err := tx.Exec(`INSERT INTO orders (order_number, customer_email, ordered_at, total_cents, card_last4)
					VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					o.number, p.email, now.AddDate(0, 0, -o.ageDays), o.cents, nullable(o.cardLast4)).Error; err != nil {
					return err
				}
			}
			for i, path := range p.logPaths {
				logID++
				if err := tx.Exec(`INSERT INTO web_logs (id, customer_email, ip, path, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					logID, p.email, fmt.Sprintf("198.51.100.%d", (10*p.id+i)%254+1), path, now.AddDate(0, 0, -7*(i+1))).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo store: seed: %w", err)
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
