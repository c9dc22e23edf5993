// Package sqlstore is the generic connector for SQL stores: it runs privacy requests
// against a PostgreSQL, MySQL/MariaDB or SQLite database as the store's entry in the data
// map describes it. Table and column names come only from the validated map; every value
// is a query parameter. Each request's changes in a store happen in one transaction,
// together with a bookkeeping row that makes a retry return the first result.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// Connector runs requests against one sql store of the data map.
type Connector struct {
	store   datamap.Store
	db      *sql.DB
	plan    plan
	now     func() time.Time
	hashKey []byte
	sealing *codec.Keyring

	mu          sync.Mutex
	bookkeeping bool // the bookkeeping table is known to exist
}

// Option adjusts a Connector.
type Option func(*Connector)

// WithClock sets the clock that retention periods are measured against.
func WithClock(now func() time.Time) Option { return func(c *Connector) { c.now = now } }

// WithHashKey sets the key of the hash suppress strategy (HMAC-SHA256), which a store
// using that strategy needs: an unkeyed hash of an address is undone by guessing.
func WithHashKey(key []byte) Option { return func(c *Connector) { c.hashKey = key } }

// WithSealing sets the key ring that seals a correction's old values in the bookkeeping
// table, so that a retry can still report them while the store never keeps them in clear.
// Without it a retry reports the correction without its old values.
func WithSealing(ring *codec.Keyring) Option { return func(c *Connector) { c.sealing = ring } }

// New returns the connector of a sql store from a validated data map, using db.
func New(store datamap.Store, db *sql.DB, opts ...Option) *Connector {
	if len(store.Categories) == 0 {
		store.Categories = domain.DefaultCategories()
	}
	c := &Connector{store: store, db: db, plan: newPlan(store), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Name is the store's name in the data map.
func (c *Connector) Name() string { return c.store.Name }

// Capabilities: a sql store plans its changes, purges the records its suppressions kept, and checks identity
// data points only when the data map declares some for it.
func (c *Connector) Capabilities() connector.Capabilities {
	caps := connector.Capabilities{Purger: c, Planner: c}
	if len(c.store.DataPoints) > 0 {
		caps.IdentityChecker = identityChecker{c}
	}
	return caps
}

// Apply runs the operation on the rows keyed to its e-mail address. Review reads only and
// is not recorded; every other type is applied at most once per request and type. Input
// that breaks a rule wraps domain.ErrInvalid and never quotes what the requester typed.
func (c *Connector) Apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	r, err := c.apply(ctx, op)
	if err != nil {
		return connector.Result{}, fmt.Errorf("store %s %s: %w", c.store.Name, op.Type, err)
	}
	return r, nil
}

func (c *Connector) apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	if op.Type == domain.TypeReview {
		email, err := checkOperation(op)
		if err != nil {
			return connector.Result{}, err
		}
		return c.review(ctx, email)
	}
	email, body, err := c.changeOf(op)
	if err != nil {
		return connector.Result{}, err
	}
	return c.applyOnce(ctx, op, email, body)
}

// checkOperation checks what every operation needs and returns its normalised address.
func checkOperation(op connector.Operation) (string, error) {
	email, err := domain.NormalizeEmail(op.Email)
	switch {
	case op.RequestID == "" || err != nil:
		return "", fmt.Errorf("a request ID and a valid e-mail address are required: %w", domain.ErrInvalid)
	case len(op.RequestID) > maxKeyLength:
		return "", fmt.Errorf("request ID is longer than %d bytes: %w", maxKeyLength, domain.ErrInvalid)
	}
	return email, nil
}

// changeOf returns the change an operation makes, and its normalised address. A review
// changes nothing and has none.
func (c *Connector) changeOf(op connector.Operation) (string, change, error) {
	email, err := checkOperation(op)
	if err != nil {
		return "", nil, err
	}
	var body change
	switch op.Type {
	case domain.TypeCorrect, domain.TypeUpdate:
		body, err = c.correction(op.Details.Changes)
	case domain.TypeSuppress:
		scope := domain.SuppressScope{All: true}
		if op.Details.Scope != nil {
			scope = *op.Details.Scope
		}
		body, err = c.suppression(scope)
	case domain.TypeChildErasure:
		body, err = c.suppression(domain.SuppressScope{All: true})
	case domain.TypeRestrict:
		body, err = c.restriction(op.Details.Limits)
	case domain.TypeReview:
		return "", nil, fmt.Errorf("a review changes nothing: %w", domain.ErrInvalid)
	default:
		return "", nil, fmt.Errorf("unknown request type %q: %w", op.Type, domain.ErrInvalid)
	}
	return email, body, err
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// record is one row, its values in the order of its table's plan columns.
type record []any

// holding is every row the store holds about one address, by table in plan order.
type holding [][]record

func (h holding) empty() bool {
	for _, rows := range h {
		if len(rows) > 0 {
			return false
		}
	}
	return true
}

// load reads the person's rows of every table, parents before the tables reached through
// them; lock locks them for the transaction's change. need, when given, limits the tables
// read (a table reached through another needs that one too).
func (c *Connector) load(ctx context.Context, q querier, email string, lock bool, need []bool) (holding, error) {
	h := make(holding, len(c.plan.tables))
	for i := range c.plan.tables {
		if need != nil && !need[i] {
			continue
		}
		t := &c.plan.tables[i]
		if t.parent < 0 {
			rows, err := c.query(ctx, q, t, c.plan.byIdentity(t, email, lock))
			if err != nil {
				return nil, err
			}
			h[i] = rows
			continue
		}
		keys := distinct(h[t.parent], c.plan.tables[t.parent].pos[t.ReachedThrough.Key])
		for _, batch := range batches(keys) {
			rows, err := c.query(ctx, q, t, c.plan.byLink(t, batch, lock))
			if err != nil {
				return nil, err
			}
			h[i] = append(h[i], rows...)
		}
	}
	return h, nil
}

func (c *Connector) query(ctx context.Context, q querier, t *tablePlan, s *statement) ([]record, error) {
	rows, err := q.QueryContext(ctx, s.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", t.Name, sanitise(err))
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		r := make(record, len(t.columns))
		ptrs := make([]any, len(r))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read table %s: %w", t.Name, sanitise(err))
		}
		for i, v := range r {
			if b, ok := v.([]byte); ok {
				r[i] = string(b) // MySQL returns text as bytes
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table %s: %w", t.Name, sanitise(err))
	}
	return out, nil
}

// distinct returns the non-null values of column i, each once.
func distinct(rows []record, i int) []any {
	seen := map[string]bool{}
	var out []any
	for _, r := range rows {
		if r[i] == nil || seen[text(r[i])] {
			continue
		}
		seen[text(r[i])] = true
		out = append(out, r[i])
	}
	return out
}

func (c *Connector) exec(ctx context.Context, q querier, t *tablePlan, s *statement) error {
	if _, err := q.ExecContext(ctx, s.String(), s.args...); err != nil {
		return fmt.Errorf("change table %s: %w", t.Name, sanitise(err))
	}
	return nil
}

// disclosures lists the recipients with a disclosed_when rule that the person's rows say
// received their data, each with the earliest date its since column gives. Callers pass
// the rows as they were before the request changed them.
func (c *Connector) disclosures(h holding) []connector.Disclosure {
	var out []connector.Disclosure
	for _, rec := range c.store.Recipients {
		d := rec.DisclosedWhen
		i := -1
		if d != nil {
			i = c.plan.index(d.Table)
		}
		if i < 0 {
			continue
		}
		t := &c.plan.tables[i]
		disclosed, since := false, time.Time{}
		for _, row := range h[i] {
			var at any
			if d.Since != "" {
				at = row[t.pos[d.Since]]
			}
			if (d.Column != "" && !truthy(row[t.pos[d.Column]])) || (d.Column == "" && at == nil) {
				continue
			}
			disclosed = true
			if ts, ok := connector.ParseTime(at); ok && (since.IsZero() || ts.Before(since)) {
				since = ts
			}
		}
		if disclosed {
			out = append(out, connector.Disclosure{Recipient: rec.Name, Since: since.UTC()})
		}
	}
	return out
}

// categoriesOf lists the categories of the PII columns that hold a value in the rows.
func (p plan) categoriesOf(h holding) []string {
	found := map[string]bool{}
	for i, rows := range h {
		t := &p.tables[i]
		for _, r := range rows {
			for _, c := range t.PII {
				if holds(r[t.pos[c.Name]]) {
					found[c.Category] = true
				}
			}
		}
	}
	return p.sorted(found)
}

// sorted lists a set of categories in the map's order.
func (p plan) sorted(set map[string]bool) []string {
	var out []string
	for c := range set {
		out = append(out, c)
	}
	sortBy(out, func(c string) int { return p.rank[c] })
	return out
}
