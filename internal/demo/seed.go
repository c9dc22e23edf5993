package demo

import (
	"fmt"
	"strings"
	"time"
)

// DemoPerson is one documented demo person: the address their requests come from and the
// answers to the identity questions (postal_code, phone_last4, order_number).
type DemoPerson struct {
	Email      string
	Name       string
	DataPoints map[string]string
	// Address, Phone and UserName are more of what the stores hold that names the person,
	// for tests that look for personal data where none belongs.
	Address, Phone, UserName string
}

type orderLine struct {
	product  string
	quantity int
	cents    int64
}

type order struct {
	number     string
	ageDays    int
	cardLast4  string // empty for an order paid by invoice
	chargeback bool   // a dispute keeps it under legal hold
	lines      []orderLine
}

func (o order) total() int64 {
	var sum int64
	for _, l := range o.lines {
		sum += int64(l.quantity) * l.cents
	}
	return sum
}

// person is everything the demo company holds on someone, across its systems.
type person struct {
	id                                                                        int
	email, name, address, postalCode, phone, title, occupation, company, user string
	marketing, affiliates                                                     bool
	orders                                                                    []order
	lists                                                                     []string // newsletters
	marketplace                                                               bool     // has a marketplace profile
	posts                                                                     []string // forum post titles
	promotions                                                                []string
	referral                                                                  string // a message sent to a friend
	referred                                                                  bool   // a friend gave us the address
	tickets                                                                   []string
	logPaths                                                                  []string
}

func (p person) firstName() string { first, _, _ := strings.Cut(p.name, " "); return first }

// city is the last part of the postal address.
func (p person) city() string {
	parts := strings.Split(p.address, ", ")
	return parts[len(parts)-1]
}

// ip is an address from the documentation ranges.
func (p person) ip(i int) string { return fmt.Sprintf("198.51.100.%d", (10*p.id+i)%254+1) }

func lines(products ...string) []orderLine {
	var out []orderLine
	for i, p := range products {
		out = append(out, orderLine{product: p, quantity: 1 + i%2, cents: int64(999 + 1000*i)})
	}
	return out
}

// people are fictional; phone numbers are from ranges reserved for drama and IP addresses
// from the documentation ranges. Orders older than seven years (2557 days) are past their
// retention, younger ones are kept for tax law.
var people = []person{
	{id: 1, email: "alice@example.com", name: "Alice Archer", address: "12 Harbour Road, Bristol", postalCode: "BS1 4DJ",
		phone: "+44 117 496 0123", title: "Dr", occupation: "Veterinarian", company: "Archer Animal Care", user: "alice_a",
		marketing: true, affiliates: true,
		orders: []order{{number: "DEMO-10001", ageDays: 3300, cardLast4: "4242", lines: lines("Antivirus Plus")},
			{number: "DEMO-10002", ageDays: 120, cardLast4: "4242", lines: lines("Antivirus Plus renewal", "Backup 1 TB")}},
		lists: []string{"product-news"}, logPaths: []string{"/store", "/store/checkout"}},
	{id: 2, email: "bob@example.com", name: "Bob Baker", address: "Storgata 5, Oslo", postalCode: "0155",
		phone: "+47 21 09 87 65", title: "Mr", occupation: "Teacher", company: "Oslo Skole", user: "bobb", marketing: true,
		orders:     []order{{number: "DEMO-20001", ageDays: 1000, cardLast4: "1881", lines: lines("Photo Editor")}},
		promotions: []string{"summer-draw-2025"}, logPaths: []string{"/products/antivirus"}},
	{id: 3, email: "carol@example.com", name: "Carol Chen", address: "400 Market St, San Francisco CA", postalCode: "94105",
		phone: "+1 415 555 0142", title: "Ms", occupation: "Engineer", company: "Chen Labs", user: "cchen", affiliates: true,
		orders:      []order{{number: "DEMO-30001", ageDays: 2900, cardLast4: "0005", chargeback: true, lines: lines("Developer Suite")}},
		marketplace: true, posts: []string{"Plugin crashes on start"}, logPaths: []string{"/account", "/forums/thread/17"}},
	{id: 4, email: "dave@example.com", name: "Dave Dunn", address: "8 Mill Lane, Leeds", postalCode: "LS1 1AA",
		phone: "+44 113 496 0456", occupation: "Writer", user: "dave_writes",
		marketplace: true, posts: []string{"Selling my e-book templates"}, referral: "You will like this editor.",
		logPaths: []string{"/marketplace/item/9"}},
	{id: 5, email: "erin@example.com", name: "Erin Evans", address: "22 Rue de Rivoli, Paris", postalCode: "75004",
		phone: "+33 1 99 00 12 34", title: "Mrs", occupation: "Architect", company: "Evans Atelier", user: "erin_e",
		marketing: true, affiliates: true,
		orders: []order{{number: "DEMO-50001", ageDays: 30, cardLast4: "3737", lines: lines("CAD Viewer")},
			{number: "DEMO-50002", ageDays: 400, lines: lines("Font Pack")}},
		lists: []string{"product-news", "offers"}, tickets: []string{"Invoice address wrong"}, logPaths: []string{"/store", "/account/profile"}},
	{id: 6, email: "frank@example.com", name: "Frank Fischer", address: "Hauptstrasse 1, Berlin", postalCode: "10115",
		phone: "+49 30 1234 5678", title: "Herr", occupation: "Accountant", company: "Fischer GmbH", user: "ffischer",
		orders: []order{{number: "DEMO-60001", ageDays: 3650, cardLast4: "6011", lines: lines("Tax Helper 2015")},
			{number: "DEMO-60002", ageDays: 2000, cardLast4: "6011", lines: lines("Tax Helper 2020")}},
		referred: true},
	// The documented demo person, in every store: one order past its retention, one inside it.
	{id: 7, email: "ada.lovelace@example.com", name: "Ada Lovelace", address: "12 St James's Square, London", postalCode: "SW1Y 4JH",
		phone: "+44 20 7946 0815", title: "Countess", occupation: "Mathematician", company: "Analytical Engines Ltd", user: "ada_l",
		marketing: true, affiliates: true,
		orders: []order{{number: "DEMO-70001", ageDays: 3000, cardLast4: "1815", lines: lines("Difference Engine Simulator")},
			{number: "DEMO-70002", ageDays: 200, cardLast4: "1815", lines: lines("Analytical Engine Studio", "Punched Card Pack")}},
		lists:       []string{"product-news", "developer-digest"},
		marketplace: true, posts: []string{"Notes on the Analytical Engine", "Bernoulli numbers, step by step"},
		promotions: []string{"summer-draw-2025"}, referral: "The engine simulator is rather good.", referred: true,
		tickets:  []string{"Licence key not accepted"},
		logPaths: []string{"/store", "/forums/thread/1843", "/account/profile"}},
}

// firstSyntheticID is the first ID of the crowd; the documented people come before it.
const firstSyntheticID = 100

// SyntheticPeople is how many synthetic people the demo holds besides DemoPeople.
const SyntheticPeople = 300

// syntheticPeople are the demo's crowd: deterministic, so every fresh data directory gets
// the same people, spread over the stores so that lookups behave like a real customer base.
func syntheticPeople(n int) []person {
	first := []string{"Noor", "Liam", "Mei", "Tomás", "Aisha", "Jonas", "Priya", "Kofi", "Elena", "Ravi", "Sofia", "Yuki"}
	last := []string{"Okafor", "Lindqvist", "Tanaka", "García", "Haddad", "Novak", "Iyer", "Mensah", "Rossi", "Kowalski"}
	jobs := []string{"Nurse", "Designer", "Pilot", "Chef", "Analyst", "Librarian", "Plumber", "Student"}
	out := make([]person, n)
	for i := range n {
		p := person{
			id:      firstSyntheticID + i,
			email:   fmt.Sprintf("person%03d@example.org", i+1),
			name:    first[i%len(first)] + " " + last[(i/len(first))%len(last)],
			address: fmt.Sprintf("%d Example Street, Springfield", 1+i%97), postalCode: fmt.Sprintf("EX%02d %dAB", i%50, i%9),
			phone: fmt.Sprintf("+1 202 555 01%02d", i%100), occupation: jobs[i%len(jobs)], user: fmt.Sprintf("user%03d", i+1),
			marketing: i%3 != 0, affiliates: i%4 == 0,
		}
		for j := range i % 3 {
			p.orders = append(p.orders, order{number: fmt.Sprintf("SYN-%03d-%d", i+1, j+1), ageDays: (i*37 + j*900) % 4000,
				cardLast4: fmt.Sprintf("%04d", (i*7919)%10000), lines: lines("Product "+string(rune('A'+i%26)), "Add-on")[:1+j%2]})
		}
		if i%2 == 0 {
			p.lists, p.logPaths = []string{"product-news"}, []string{"/store", "/account"}
		}
		if i%5 == 0 {
			p.marketplace, p.posts = true, []string{fmt.Sprintf("Question %d about licences", i+1)}
		}
		if i%4 == 1 {
			p.promotions = []string{"summer-draw-2025"}
		}
		if i%7 == 0 {
			p.referral = "Thought you might like this."
		}
		if i%6 == 0 {
			p.tickets = []string{"Cannot sign in"}
		}
		out[i] = p
	}
	return out
}

func allPeople() []person {
	return append(append([]person{}, people...), syntheticPeople(SyntheticPeople)...)
}

// seedClock is the time seeded dates count back from.
func seedClock() time.Time { return time.Now().UTC().Truncate(time.Second) }

// DemoPeople returns the documented demo people with the data points that verify them.
// The order number is the newest order, which tax law keeps through a suppression.
func DemoPeople() []DemoPerson {
	out := make([]DemoPerson, 0, len(people))
	for _, p := range people {
		points := map[string]string{"postal_code": p.postalCode, "phone_last4": lastFour(p.phone)}
		if len(p.orders) > 0 {
			points["order_number"] = p.orders[len(p.orders)-1].number
		}
		out = append(out, DemoPerson{Email: p.email, Name: p.name, DataPoints: points, Address: p.address, Phone: p.phone, UserName: p.user})
	}
	return out
}

// Ada is the documented demo person who is in every store.
func Ada() DemoPerson { return DemoPeople()[6] }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// lastFour returns the last four digits of a phone number.
func lastFour(phone string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	return digits[max(0, len(digits)-4):]
}
