// Package datamap reads the data map: the YAML file that describes every system holding
// personal data, what each request type may do there, what must be retained and who else
// receives the data. Parse checks the whole file and reports every problem with its line,
// so that a deployment fails at start instead of in the middle of someone's request.
//
// A map lists extra categories (beyond domain.DefaultCategories) and stores:
//
//	categories:
//	  - {name: loyalty_points, correctable: false, label: Loyalty points}
//	  - name: name                      # a default category, named again only to label it
//	    label: {en: Your name, nb: Navnet ditt}
//	    description: {en: What you are called, nb: Hva du heter}
//	stores:
//	  - name: crm
//	    label: {en: Customer records, nb: Kunderegister}
//	    kind: sql                       # sql, http or manual
//	    connection:
//	      driver: postgres              # postgres, mysql or sqlite
//	      dsn_env: CRM_DSN              # or dsn: for a password-less DSN, e.g. a SQLite file
//	    identity_data_points:           # answers that prove identity
//	      - {name: phone_last4, table: customers, column: phone, match: last4}
//	    recipients:                     # told of corrections, suppressions, restrictions
//	      - name: Example AB
//	        relation: affiliate
//	        email: privacy@example.com
//	        disclosed_when: {table: customers, column: share_with_affiliates} # or since: a date column
//	    tables:
//	      - table: customers
//	        label: Your customer record # and description; both optional
//	        category: name              # the kind of data its records are; see Table.MainCategory
//	        identity: email             # compared as lower(trim(email)); or {column: email, normalised: true}
//	        primary_key: id
//	        pii: {full_name: name, phone: phone}       # column: category
//	        review: {columns: [created_at], notes: [shown when rows are found]}
//	        correct: {name: full_name}                 # field (a correctable category): column
//	        suppress:
//	          all: delete_row                          # when everything is suppressed
//	          columns: {full_name: null, phone: hash}  # delete_row, null, mask or hash
//	        restrict:
//	          marketing_email: {column: newsletter, value: false}
//	        legal_hold: on_hold                        # or {column: on_hold, basis: …}
//	        columns:                                   # how pii and review columns read to people
//	          full_name: {label: {en: Name, nb: Navn}}
//	          created_at: {label: Customer since, format: date}  # date, datetime, boolean
//	          credit_cents: {label: Credit, format: money_cents, currency: GBP}
//	      - table: orders
//	        identity: buyer_email
//	        primary_key: number
//	        pii: {number: order_history}
//	        suppress: {columns: {number: delete_row}}
//	        retention:
//	          - {column: placed_at, younger_than: 7 years, basis: "Tax law (GDPR Art. 17(3)(b))", describe: "order {number}"}
//	      - table: order_lines
//	        reached_through: {table: orders, key: number, column: order_number}
//	        primary_key: id
//	        pii: {product: order_history}
//	        suppress: {columns: {product: delete_row}}
//
// An http store has connection {url, key_id, secret_env} and lists the categories it
// holds under holds; a manual store has instructions and holds. Identity columns compared
// through lower(trim()) need an expression index on large tables, or normalised: true.
//
// Labels and descriptions are what the requester reads instead of the internal names: a
// plain string (English) or a mapping by language tag ({en: …, nb: …}). A text missing in
// the reader's language falls back to English, and a missing label to a readable form of
// the name ("total_cents" reads "Total cents").
//
// A recipient is told of a change only if the person's data went to it. disclosed_when
// says how the store knows: in a sql store, a flag column (and/or a since column holding
// the date sharing began) in a row of the person's, read as it was before the request
// changed anything; in an http or manual store, "disclosed_when: reported", and the store
// names the recipient in its answer (disclosed_to) or the task's result. A recipient
// without disclosed_when is told whenever the store holds data on the person.
package datamap

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dsr-project/dsr/internal/domain"
)

// Map is a parsed and validated data map.
type Map struct {
	// File is the name the map was loaded from, as it appears in error messages.
	File string
	// Categories are domain.DefaultCategories followed by the ones the map declares.
	Categories domain.Categories
	// CategoryLabels name the categories to people, by category name.
	CategoryLabels map[string]Labelled
	Stores         []Store
}

// Kind is how dsr reaches a store.
type Kind string

// Store kinds.
const (
	KindSQL    Kind = "sql"    // a database dsr queries itself
	KindHTTP   Kind = "http"   // a service that answers the signed webhook protocol
	KindManual Kind = "manual" // a system the privacy team works on by hand
)

// Driver is the SQL engine of a sql store.
type Driver string

// SQL drivers.
const (
	Postgres Driver = "postgres"
	MySQL    Driver = "mysql" // MySQL and MariaDB
	SQLite   Driver = "sqlite"
)

// Store is one system that holds personal data.
type Store struct {
	Name string
	Kind Kind
	Line int
	Labelled
	// Connection says how to reach a sql or http store; a manual store has none.
	Connection Connection
	// Tables, DataPoints and BookkeepingTable belong to sql stores.
	Tables     []Table
	DataPoints []DataPoint
	// BookkeepingTable records the operations applied in the store's database, so that a
	// retried request changes nothing twice. It defaults to DefaultBookkeepingTable.
	BookkeepingTable string
	// Holds names the categories an http or manual store holds, since dsr cannot see them.
	Holds []string
	// Instructions tell the privacy team what to do in a manual store.
	Instructions string
	Recipients   []Recipient
	// Categories are the map's categories, in display order, so that a connector orders
	// what it reports and rejects names no category has.
	Categories domain.Categories
}

// DefaultBookkeepingTable is the table a sql store's applied operations are recorded in.
const DefaultBookkeepingTable = "dsr_applied_operations"

// Connection is how to reach a store. Secrets never sit in the file: DSNEnv and SecretEnv
// name environment variables.
type Connection struct {
	Driver Driver // sql
	DSN    string // sql: a literal DSN without a password, e.g. a SQLite file for dev
	DSNEnv string // sql: the environment variable holding the DSN
	URL    string // http: the endpoint
	// KeyID and SecretEnv sign http requests: the key's ID and the variable holding it.
	KeyID     string
	SecretEnv string
}

// ResolveDSN returns the DSN, from the environment when the map names a variable.
func (c Connection) ResolveDSN(lookupEnv func(string) (string, bool)) (string, error) {
	if c.DSNEnv == "" {
		return c.DSN, nil
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	v, ok := lookupEnv(c.DSNEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("environment variable %s (the store's dsn_env) is not set", c.DSNEnv)
	}
	return v, nil
}

// Table is a SQL table that holds personal data. Its rows belong to a person either
// through Identity, a column holding their e-mail address, or through ReachedThrough, a key
// into another table of the store (order lines through their order).
type Table struct {
	Name string
	Line int
	Labelled
	// Category is the kind of data the table's records are, when the map says; see
	// MainCategory.
	Category string
	// Display says how columns are named and their values shown, by column.
	Display map[string]ColumnDisplay
	// PrimaryKey is the single column that identifies a row.
	PrimaryKey string
	Identity   string
	// IdentityNormalised says the column already holds lower-case, trimmed addresses, so
	// it is compared as is and its index can serve the lookup.
	IdentityNormalised bool
	ReachedThrough     *Link
	// PII lists the columns holding personal data with their category, in file order.
	PII       []Column
	Review    Review
	Correct   []Correction
	Suppress  Suppress
	Restrict  []Flag
	Retention []RetentionRule
	LegalHold *LegalHold
	// Lines gives the line where each column name is first written in the table's entry
	// (a reached_through key, a column of the other table, included), so that a check
	// against the database can point at the typo.
	Lines map[string]int
}

// Link reaches a table's rows through another table: this table's Column holds the value
// of Key in a row of Table.
type Link struct {
	Table  string
	Key    string
	Column string
}

// Column is a PII column and its category.
type Column struct {
	Name     string
	Category string
}

// Review is what a review exports beside the PII columns (which it always exports), and
// notes for the requester when the table holds rows about them.
type Review struct {
	Columns []string
	Notes   []string
}

// Correction lets a correct or update request set Column to a new value of Field, a
// correctable category.
type Correction struct {
	Field  string
	Column string
}

// Strategy is how a suppression erases a column.
type Strategy string

// Suppress strategies.
const (
	DeleteRow Strategy = "delete_row" // delete the whole row
	Null      Strategy = "null"       // set the column to NULL
	Mask      Strategy = "mask"       // overwrite the value with MaskValue
	Hash      Strategy = "hash"       // overwrite the value with its keyed hash (hex HMAC-SHA256)
)

// MaskValue is what the mask strategy writes.
const MaskValue = "***"

var strategies = []Strategy{DeleteRow, Null, Mask, Hash}

// Suppress says how a suppression erases the table's data. Columns holds a strategy for
// every PII column, applied when the column's category is in scope. All, when DeleteRow,
// deletes the row outright when the suppression covers everything.
type Suppress struct {
	All     Strategy
	Columns map[string]Strategy
}

// Flag is a column a restrict request sets, and the value that means "restricted".
type Flag struct {
	Limit  domain.RestrictLimit
	Column string
	// Value is a bool, int64, float64, string, or nil for NULL.
	Value any
	// Lifted is what a lift writes back, of the same kinds; for a bool Value it defaults to
	// its opposite. CanLift is false when the map gives none, and the store cannot lift.
	Lifted  any
	CanLift bool
}

// LegalHold is a column that, when set, keeps a row from any deletion or change.
type LegalHold struct {
	Column string
	Basis  string
}

// DefaultLegalHoldBasis is the reason given for a legal hold the map does not explain.
const DefaultLegalHoldBasis = "Kept under legal hold for legal claims (GDPR Art. 17(3)(e)) until the hold is lifted"

// Match is how an identity answer is compared with a data point on file.
type Match string

// Matches. Both ignore case, spaces and dashes.
const (
	MatchExact Match = "exact"
	MatchLast4 Match = "last4" // the last four digits, as for a phone number
)

// DataPoint is a value on file a requester can give to prove who they are, answered under
// Name (postal_code, phone_last4, order_number…).
type DataPoint struct {
	Name   string
	Table  string
	Column string
	Match  Match
	Line   int
}

// Relation is what a recipient is to the company.
type Relation string

// Relations, as the privacy policy names them.
const (
	Affiliate       Relation = "affiliate"
	ServiceProvider Relation = "service_provider"
	ThirdParty      Relation = "third_party"
)

var relations = []Relation{Affiliate, ServiceProvider, ThirdParty}

// Recipient is someone a store's data is shared with, who is told of corrections,
// suppressions and restrictions (GDPR Art. 19) through a webhook or by e-mail.
type Recipient struct {
	Store    string
	Name     string
	Relation Relation
	Webhook  string
	// KeyID and SecretEnv sign webhook notices: the key's ID and the environment variable
	// holding its secret. A webhook recipient without them is listed but not sent to.
	KeyID      string
	SecretEnv  string
	Email      string
	Categories []string // what they receive; empty means everything the store holds
	// DisclosedWhen says how the store tells whether a person's data went to the
	// recipient; nil means it went whenever the store holds data on them.
	DisclosedWhen *Disclosure
	Line          int
}

// Disclosure is how a store tells whether one person's data was passed to a recipient,
// who is told of a change only then: the notice itself would disclose the person.
type Disclosure struct {
	// Table, Column and Since belong to sql stores. The data went to the recipient when a
	// row of Table keyed to the person has Column set (true, non-zero, a date), or, without
	// Column, has Since set; Since, when given, holds the date it began.
	Table  string
	Column string
	Since  string
	// Reported says an http or manual store reports it itself: a webhook answer's
	// disclosed_to, a completed task's result.
	Reported bool
}

// Load reads and validates the data map at path. Relative SQLite file DSNs are taken
// relative to the map's directory. Problems come back as Errors.
func Load(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data map: %w", err)
	}
	m, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i, s := range m.Stores {
		c := &m.Stores[i].Connection
		if s.Kind == KindSQL && c.Driver == SQLite && c.DSN != "" && !filepath.IsAbs(c.DSN) && !strings.HasPrefix(c.DSN, "file:") {
			c.DSN = filepath.Join(dir, c.DSN)
		}
	}
	return m, nil
}

// Store returns the store called name.
func (m *Map) Store(name string) (Store, bool) {
	i := slices.IndexFunc(m.Stores, func(s Store) bool { return s.Name == name })
	if i < 0 {
		return Store{}, false
	}
	return m.Stores[i], true
}

// Recipients lists every store's recipients in file order; one that receives data from
// several stores appears once per store.
func (m *Map) Recipients() []Recipient {
	var out []Recipient
	for _, s := range m.Stores {
		out = append(out, s.Recipients...)
	}
	return out
}

// Table returns the store's table called name.
func (s Store) Table(name string) (Table, bool) {
	i := slices.IndexFunc(s.Tables, func(t Table) bool { return t.Name == name })
	if i < 0 {
		return Table{}, false
	}
	return s.Tables[i], true
}

// RecipientsOf lists the store's recipients with the given relation.
func (s Store) RecipientsOf(r Relation) []Recipient {
	var out []Recipient
	for _, rec := range s.Recipients {
		if rec.Relation == r {
			out = append(out, rec)
		}
	}
	return out
}

// CategoryOf returns the category of a PII column.
func (t Table) CategoryOf(column string) (string, bool) {
	for _, c := range t.PII {
		if c.Name == column {
			return c.Category, true
		}
	}
	return "", false
}
