package demo

import (
	"fmt"
	"time"
)

// storeSchema is one demo database: its tables, in plain SQL that PostgreSQL and SQLite
// both accept, and how to seed them. IDs are given explicitly by the seed, which avoids
// the engines' different auto-increment syntax. TIMESTAMP (not TIMESTAMPTZ) is the type
// SQLite's driver reads back as time.Time; every time written is UTC.
type storeSchema struct {
	store  string
	tables []string
	seed   func(w *writer, people []person, now time.Time)
}

// seedMarker records that a database was seeded, so that a restart does not seed again.
const seedMarker = `CREATE TABLE IF NOT EXISTS demo_seeded (seeded_at TIMESTAMP NOT NULL)`

var storeSchemas = []storeSchema{
	{"newsletter", []string{
		`CREATE TABLE IF NOT EXISTS subscriptions (id INTEGER PRIMARY KEY,
			email TEXT NOT NULL CHECK (email = lower(email)), list_name TEXT NOT NULL, first_name TEXT,
			opted_in BOOLEAN NOT NULL, subscribed_at TIMESTAMP NOT NULL, UNIQUE (email, list_name))`,
	}, seedNewsletter},
	{"webstore", []string{
		`CREATE TABLE IF NOT EXISTS orders (order_number TEXT PRIMARY KEY,
			customer_email TEXT NOT NULL CHECK (customer_email = lower(customer_email)), ordered_at TIMESTAMP NOT NULL,
			total_cents BIGINT NOT NULL, card_last4 TEXT, billing_name TEXT, billing_address TEXT, billing_postal_code TEXT,
			chargeback_hold BOOLEAN NOT NULL DEFAULT FALSE)`,
		`CREATE INDEX IF NOT EXISTS orders_customer_email ON orders (customer_email)`,
		`CREATE TABLE IF NOT EXISTS order_lines (id INTEGER PRIMARY KEY, order_number TEXT NOT NULL,
			product TEXT NOT NULL, quantity INTEGER NOT NULL, price_cents BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS order_lines_order_number ON order_lines (order_number)`,
	}, seedWebstore},
	{"accounts", []string{
		`CREATE TABLE IF NOT EXISTS profiles (id INTEGER PRIMARY KEY,
			email TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
			name TEXT, postal_address TEXT, postal_code TEXT, phone TEXT, title TEXT, occupation TEXT, company TEXT, username TEXT,
			marketing_email_opt_in BOOLEAN NOT NULL DEFAULT FALSE, share_with_affiliates BOOLEAN NOT NULL DEFAULT FALSE,
			processing_restricted BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMP NOT NULL)`,
	}, seedAccounts},
	{"community", []string{
		`CREATE TABLE IF NOT EXISTS marketplace_profiles (id INTEGER PRIMARY KEY, email TEXT NOT NULL,
			display_name TEXT, bio TEXT, location TEXT, joined_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS marketplace_profiles_email ON marketplace_profiles (email)`,
		`CREATE TABLE IF NOT EXISTS forum_posts (id INTEGER PRIMARY KEY, profile_id INTEGER NOT NULL,
			title TEXT, body TEXT, ip TEXT, posted_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS forum_posts_profile_id ON forum_posts (profile_id)`,
	}, seedCommunity},
	{"promotions", []string{
		`CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY,
			email TEXT NOT NULL CHECK (email = lower(email)), full_name TEXT, postal_address TEXT,
			promotion TEXT, marketing_consent BOOLEAN NOT NULL, entered_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS entries_email ON entries (email)`,
	}, seedPromotions},
	{"email_a_friend", []string{
		`CREATE TABLE IF NOT EXISTS referrals (id INTEGER PRIMARY KEY,
			sender_email TEXT NOT NULL CHECK (sender_email = lower(sender_email)), sender_name TEXT, message TEXT,
			page TEXT NOT NULL, sent_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS referrals_sender_email ON referrals (sender_email)`,
		`CREATE TABLE IF NOT EXISTS referred_addresses (id INTEGER PRIMARY KEY, referral_id INTEGER NOT NULL,
			friend_email TEXT CHECK (friend_email = lower(friend_email)), referred_at TIMESTAMP)`,
		`CREATE INDEX IF NOT EXISTS referred_addresses_friend_email ON referred_addresses (friend_email)`,
	}, seedEmailAFriend},
	{"web_logs", []string{
		`CREATE TABLE IF NOT EXISTS access_log (id INTEGER PRIMARY KEY,
			account_email TEXT NOT NULL CHECK (account_email = lower(account_email)),
			ip TEXT, user_agent TEXT, path TEXT, session_id TEXT, at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS access_log_account_email ON access_log (account_email)`,
	}, seedWebLogs},
	{SupportDeskStore, []string{
		`CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY,
			email TEXT NOT NULL CHECK (email = lower(email)), requester_name TEXT, subject TEXT NOT NULL, opened_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS tickets_email ON tickets (email)`,
		// One row per operation the desk has carried out, so that a repeat changes nothing.
		`CREATE TABLE IF NOT EXISTS processed (idempotency_key TEXT PRIMARY KEY, result TEXT NOT NULL, processed_at TIMESTAMP NOT NULL)`,
	}, seedSupportDesk},
}

func seedNewsletter(w *writer, people []person, now time.Time) {
	id := 0
	for _, p := range people {
		for i, list := range p.lists {
			id++
			w.exec(`INSERT INTO subscriptions (id, email, list_name, first_name, opted_in, subscribed_at) VALUES (?, ?, ?, ?, ?, ?)`,
				id, p.email, list, p.firstName(), p.marketing, now.AddDate(-2, -i, 0))
		}
	}
}

func seedWebstore(w *writer, people []person, now time.Time) {
	line := 0
	for _, p := range people {
		for _, o := range p.orders {
			w.exec(`INSERT INTO orders (order_number, customer_email, ordered_at, total_cents, card_last4, billing_name,
				billing_address, billing_postal_code, chargeback_hold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				o.number, p.email, now.AddDate(0, 0, -o.ageDays), o.total(), nullable(o.cardLast4), p.name,
				p.address, p.postalCode, o.chargeback)
			for _, l := range o.lines {
				line++
				w.exec(`INSERT INTO order_lines (id, order_number, product, quantity, price_cents) VALUES (?, ?, ?, ?, ?)`,
					line, o.number, l.product, l.quantity, l.cents)
			}
		}
	}
}

func seedAccounts(w *writer, people []person, now time.Time) {
	for _, p := range people {
		w.exec(`INSERT INTO profiles (id, email, name, postal_address, postal_code, phone, title, occupation,
			company, username, marketing_email_opt_in, share_with_affiliates, processing_restricted, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.id, p.email, p.name, p.address, p.postalCode, p.phone, nullable(p.title), p.occupation,
			nullable(p.company), p.user, p.marketing, p.affiliates, false, now.AddDate(-10, 0, 0))
	}
}

func seedCommunity(w *writer, people []person, now time.Time) {
	post := 0
	for _, p := range people {
		if !p.marketplace {
			continue
		}
		w.exec(`INSERT INTO marketplace_profiles (id, email, display_name, bio, location, joined_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.id, p.email, p.user, fmt.Sprintf("%s who likes good software.", p.occupation), p.city(), now.AddDate(-5, 0, 0))
		for i, title := range p.posts {
			post++
			w.exec(`INSERT INTO forum_posts (id, profile_id, title, body, ip, posted_at) VALUES (?, ?, ?, ?, ?, ?)`,
				post, p.id, title, "Has anyone else seen this? "+title+".", p.ip(i), now.AddDate(0, -3*(i+1), 0))
		}
	}
}

func seedPromotions(w *writer, people []person, now time.Time) {
	id := 0
	for _, p := range people {
		for i, promo := range p.promotions {
			id++
			w.exec(`INSERT INTO entries (id, email, full_name, postal_address, promotion, marketing_consent, entered_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, id, p.email, p.name, p.address, promo, p.marketing, now.AddDate(0, -2-i, 0))
		}
	}
}

// seedEmailAFriend writes each sender's referrals, and the friend's address of every
// referral in a row of its own. Demo people marked referred were named by the crowd.
func seedEmailAFriend(w *writer, people []person, now time.Time) {
	var referred []string
	for _, p := range people {
		if p.referred {
			referred = append(referred, p.email)
		}
	}
	id := 0
	for _, p := range people {
		if p.referral == "" {
			continue
		}
		id++
		sent := now.AddDate(0, -1, -id%28)
		w.exec(`INSERT INTO referrals (id, sender_email, sender_name, message, page, sent_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, p.email, p.name, p.referral, "/products/antivirus", sent)
		friend := fmt.Sprintf("friend%03d@example.net", id)
		if len(referred) > 0 && p.id >= firstSyntheticID { // no one refers themselves
			friend, referred = referred[0], referred[1:]
		}
		w.exec(`INSERT INTO referred_addresses (id, referral_id, friend_email, referred_at) VALUES (?, ?, ?, ?)`, id, id, friend, sent)
	}
}

func seedWebLogs(w *writer, people []person, now time.Time) {
	id := 0
	for _, p := range people {
		for i, path := range p.logPaths {
			id++
			w.exec(`INSERT INTO access_log (id, account_email, ip, user_agent, path, session_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, p.email, p.ip(i), "Mozilla/5.0 (X11; Linux x86_64)", path, fmt.Sprintf("sess-%04d-%d", p.id, i), now.AddDate(0, 0, -7*(i+1)))
		}
	}
}

func seedSupportDesk(w *writer, people []person, now time.Time) {
	id := 0
	for _, p := range people {
		for i, subject := range p.tickets {
			id++
			w.exec(`INSERT INTO tickets (id, email, requester_name, subject, opened_at) VALUES (?, ?, ?, ?, ?)`,
				id, p.email, p.name, subject, now.AddDate(0, -i-1, 0))
		}
	}
}
