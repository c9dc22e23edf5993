package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// review exports the person's rows: the PII columns and the review columns of every table,
// NULLs left out. It changes nothing, so it runs again on a retry instead of being recorded,
// which also keeps exported data out of the bookkeeping table.
func (c *Connector) review(ctx context.Context, email string) (connector.Result, error) {
	var opts *sql.TxOptions
	if datamap.Driver(c.plan.d) != datamap.SQLite {
		opts = &sql.TxOptions{ReadOnly: true}
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return connector.Result{}, sanitise(err)
	}
	defer tx.Rollback()
	h, err := c.load(ctx, tx, email, false, nil)
	if err != nil {
		return connector.Result{}, err
	}
	r := connector.Result{Store: c.store.Name, NotFound: h.empty()}
	if !r.NotFound {
		r.Found, r.Export = c.plan.categoriesOf(h), c.plan.export(h)
		for i, rows := range h {
			for _, n := range c.plan.tables[i].Review.Notes {
				if len(rows) > 0 && !slices.Contains(r.Notes, n) {
					r.Notes = append(r.Notes, n)
				}
			}
		}
	}
	return roundTrip(r)
}

// roundTrip returns the result as JSON gives it back, as a recorded result is returned.
func roundTrip(r connector.Result) (connector.Result, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return connector.Result{}, err
	}
	var out connector.Result
	return out, json.Unmarshal(b, &out)
}

func (p plan) export(h holding) map[string]any {
	out := map[string]any{}
	for i, rows := range h {
		if len(rows) == 0 {
			continue
		}
		t := &p.tables[i]
		var cols []string
		for _, c := range t.PII {
			cols = append(cols, c.Name)
		}
		cols = append(cols, t.Review.Columns...)
		list := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			rec := map[string]any{}
			for _, col := range cols {
				if v := r[t.pos[col]]; v != nil {
					rec[col] = v
				}
			}
			list = append(list, rec)
		}
		out[t.Name] = list
	}
	return out
}

// correction sets the named fields to their new values wherever the store holds them.
// Fields this store does not hold are left to other stores; a name that is no category,
// or an empty value (erasing is a suppression), wraps domain.ErrInvalid. Rows under legal
// hold are not changed and are reported as retained. Changed lists the fields whose value
// differed, Before their old values, which dsr keeps only as sealed audit evidence.
func (c *Connector) correction(changes []domain.FieldChange) (change, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("no changes: %w", domain.ErrInvalid)
	}
	want := map[string]string{} // the last change to a field wins
	for i, ch := range changes {
		if _, ok := c.store.Categories.Find(ch.Field); !ok {
			return nil, fmt.Errorf("change %d names an unknown field: %w", i, domain.ErrInvalid)
		}
		v := strings.TrimSpace(ch.Value)
		if v == "" {
			return nil, fmt.Errorf("change %d has an empty value: %w", i, domain.ErrInvalid)
		}
		want[ch.Field] = v
	}
	return func(ctx context.Context, tx *sql.Tx, h holding, now time.Time) (connector.Result, error) {
		if h.empty() {
			return connector.Result{NotFound: true}, nil
		}
		var r connector.Result
		keep := c.keep(h, now, true)
		changed := map[string]bool{}
		for i, rows := range h {
			t := &c.plan.tables[i]
			for j, row := range rows {
				var sets []assignment
				var fields []string
				var before []connector.PriorValue
				for _, cr := range t.Correct {
					if v, ok := want[cr.Field]; ok && !equal(row[t.pos[cr.Column]], v) {
						sets, fields = append(sets, assignment{cr.Column, v}), append(fields, cr.Field)
						before = append(before, connector.PriorValue{Table: t.Name, Field: cr.Field, Value: row[t.pos[cr.Column]]})
					}
				}
				switch {
				case len(sets) == 0:
				case keep[i][j] != nil:
					r.Retained = addRetention(r.Retained, keep[i][j].Retention)
				default:
					if err := c.exec(ctx, tx, t, c.plan.update(t, sets, []any{row[0]})); err != nil {
						return r, err
					}
					for _, f := range fields {
						changed[f] = true
					}
					r.Before = append(r.Before, before...)
				}
			}
		}
		for _, f := range c.plan.fields {
			if changed[f] {
				r.Changed = append(r.Changed, f)
			}
		}
		return r, nil
	}, nil
}

// reason is why a row must be kept; inherited marks the reason of the row it is reached
// through (the lines of a retained order).
type reason struct {
	connector.Retention
	inherited bool
}

// keep returns, for each row, why it must be kept, or nil: a legal hold, a running
// retention period, or the reason of the row it is reached through. legalOnly leaves
// retention periods out, for changes that keep the record (corrections).
func (c *Connector) keep(h holding, now time.Time, legalOnly bool) [][]*reason {
	out := make([][]*reason, len(h))
	for i, rows := range h {
		t := &c.plan.tables[i]
		out[i] = make([]*reason, len(rows))
		parents := map[string]*reason{}
		if t.parent >= 0 {
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			for j, pr := range h[t.parent] {
				if k := out[t.parent][j]; k != nil {
					parents[text(pr[key])] = &reason{Retention: k.Retention, inherited: true}
				}
			}
		}
		for j, r := range rows {
			switch {
			case t.LegalHold != nil && truthy(r[t.pos[t.LegalHold.Column]]):
				out[i][j] = &reason{Retention: connector.Retention{What: c.describe(t, t.describe, r), Reason: t.LegalHold.Basis, Ref: ref(t, r)}}
			case !legalOnly && len(t.Retention) > 0:
				dates := map[string]time.Time{}
				for _, rule := range t.Retention {
					if d, ok := asTime(r[t.pos[rule.Column]]); ok {
						dates[rule.Column] = d
					}
				}
				if rule, until, ok := t.Retained(dates, now); ok {
					tmpl := rule.Describe
					if tmpl == "" {
						tmpl = t.describe
					}
					out[i][j] = &reason{Retention: connector.Retention{What: c.describe(t, tmpl, r), Reason: rule.Basis, Until: until, Ref: ref(t, r)}}
				}
			}
			if out[i][j] == nil && t.parent >= 0 {
				out[i][j] = parents[text(r[t.pos[t.ReachedThrough.Column]])]
			}
		}
	}
	return out
}

func (c *Connector) describe(t *tablePlan, template string, r record) string {
	rule := datamap.RetentionRule{Describe: template}
	return rule.Description(t.Table, func(col string) string {
		if i, ok := t.pos[col]; ok {
			return display(r[i])
		}
		return ""
	})
}

// addRetention adds an entry unless the same one is there: an order and its lines are one
// record to the requester.
func addRetention(list []connector.Retention, r connector.Retention) []connector.Retention {
	for _, x := range list {
		if x.What == r.What && x.Reason == r.Reason && x.Until.Equal(r.Until) {
			return list
		}
	}
	return append(list, r)
}

// action is what a suppression does to one row.
type action struct {
	delete bool
	sets   []assignment
	// erases are the categories the action removes.
	erases []string
}

func (a action) none() bool { return !a.delete && len(a.sets) == 0 }

// suppression erases what scope names, by each column's strategy. A row kept by a legal
// hold or a retention rule is left whole and reported in Retained, as are the rows reached
// through it; a row deleted takes the rows reached through it along. Categories the store
// does not hold are ignored; names that are no category wrap domain.ErrInvalid.
func (c *Connector) suppression(scope domain.SuppressScope) (change, error) {
	inScope := map[string]bool{}
	for i, name := range scope.Categories {
		if _, ok := c.store.Categories.Find(name); !ok {
			return nil, fmt.Errorf("category %d is unknown: %w", i, domain.ErrInvalid)
		}
		inScope[name] = true
	}
	if !scope.All && len(inScope) == 0 {
		return nil, fmt.Errorf("scope names nothing: %w", domain.ErrInvalid)
	}
	if c.plan.usesHash && len(c.hashKey) == 0 {
		return nil, fmt.Errorf("the data map hashes columns but the connector has no hash key (sqlstore.WithHashKey)")
	}
	return func(ctx context.Context, tx *sql.Tx, h holding, now time.Time) (connector.Result, error) {
		r := connector.Result{Found: c.plan.categoriesOf(h), NotFound: h.empty()}
		if r.NotFound {
			return r, nil
		}
		acts := c.decide(h, scope.All, inScope)
		r.Retained = c.spare(h, acts, c.keep(h, now, false))
		erased := map[string]bool{}
		for i, rows := range h {
			t := &c.plan.tables[i]
			for j, a := range acts[i] {
				if len(a.sets) == 0 || a.delete {
					continue
				}
				if err := c.exec(ctx, tx, t, c.plan.update(t, a.sets, []any{rows[j][0]})); err != nil {
					return r, err
				}
				markAll(erased, a.erases)
			}
		}
		for i := len(h) - 1; i >= 0; i-- { // rows reached through others go first
			t := &c.plan.tables[i]
			var keys []any
			for j, a := range acts[i] {
				if a.delete {
					keys = append(keys, h[i][j][0])
					markAll(erased, a.erases)
				}
			}
			for _, batch := range batches(keys) {
				if err := c.exec(ctx, tx, t, c.plan.delete(t, batch)); err != nil {
					return r, err
				}
			}
		}
		r.Changed = c.plan.sorted(erased)
		return r, nil
	}, nil
}

func markAll(set map[string]bool, names []string) {
	for _, n := range names {
		set[n] = true
	}
}

// decide works out each row's action, parents first so that deletions cascade.
func (c *Connector) decide(h holding, all bool, inScope map[string]bool) [][]action {
	acts := make([][]action, len(h))
	for i, rows := range h {
		t := &c.plan.tables[i]
		acts[i] = make([]action, len(rows))
		deleted := map[string]bool{}
		if t.parent >= 0 {
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			for j, pr := range h[t.parent] {
				if acts[t.parent][j].delete {
					deleted[text(pr[key])] = true
				}
			}
		}
		for j, row := range rows {
			acts[i][j] = c.rowAction(t, row, all, inScope)
			if t.parent >= 0 && deleted[text(row[t.pos[t.ReachedThrough.Column]])] {
				acts[i][j] = action{delete: true, erases: heldCategories(t, row)}
			}
		}
	}
	return acts
}

func (c *Connector) rowAction(t *tablePlan, row record, all bool, inScope map[string]bool) action {
	if all && t.Suppress.All == datamap.DeleteRow {
		return action{delete: true, erases: heldCategories(t, row)}
	}
	var a action
	for _, col := range t.PII {
		v := row[t.pos[col.Name]]
		if !(all || inScope[col.Category]) || !holds(v) {
			continue
		}
		switch t.Suppress.Columns[col.Name] {
		case datamap.DeleteRow:
			return action{delete: true, erases: heldCategories(t, row)}
		case datamap.Null:
			a.sets = append(a.sets, assignment{col.Name, nil})
		case datamap.Mask:
			a.sets = append(a.sets, assignment{col.Name, datamap.MaskValue})
		case datamap.Hash:
			mac := hmac.New(sha256.New, c.hashKey)
			mac.Write([]byte(text(v)))
			a.sets = append(a.sets, assignment{col.Name, hex.EncodeToString(mac.Sum(nil))})
		}
		if !slices.Contains(a.erases, col.Category) {
			a.erases = append(a.erases, col.Category)
		}
	}
	return a
}

func heldCategories(t *tablePlan, row record) []string {
	var out []string
	for _, col := range t.PII {
		if holds(row[t.pos[col.Name]]) && !slices.Contains(out, col.Category) {
			out = append(out, col.Category)
		}
	}
	return out
}

// spare cancels the actions on rows that must be kept and returns why they were kept. A row
// kept for its own reason keeps the row it is reached through from deletion too, since the
// kept row would point at nothing.
func (c *Connector) spare(h holding, acts [][]action, keep [][]*reason) []connector.Retention {
	found := make([][]connector.Retention, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		t := &c.plan.tables[i]
		for j, row := range h[i] {
			k := keep[i][j]
			if k == nil || acts[i][j].none() {
				continue
			}
			found[i] = append(found[i], k.Retention)
			acts[i][j] = action{}
			if k.inherited || t.parent < 0 {
				continue
			}
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			for pj, pr := range h[t.parent] {
				if acts[t.parent][pj].delete && text(pr[key]) == text(row[t.pos[t.ReachedThrough.Column]]) {
					keep[t.parent][pj] = &reason{Retention: k.Retention}
				}
			}
		}
	}
	var kept []connector.Retention
	for _, list := range found {
		for _, r := range list {
			kept = addRetention(kept, r)
		}
	}
	return kept
}

// restriction sets the flag columns of each limit. Changed lists the limits whose flag
// moved; notes name the affiliates that already received data, which an opt-out cannot
// recall. Limits this store has no flag for are left to other stores.
func (c *Connector) restriction(limits []domain.RestrictLimit) (change, error) {
	if len(limits) == 0 {
		return nil, fmt.Errorf("no limits: %w", domain.ErrInvalid)
	}
	var wanted []domain.RestrictLimit
	for _, l := range limits {
		if _, err := domain.ParseRestrictLimit(string(l)); err != nil {
			return nil, err
		}
		if !slices.Contains(wanted, l) {
			wanted = append(wanted, l)
		}
	}
	return func(ctx context.Context, tx *sql.Tx, h holding, now time.Time) (connector.Result, error) {
		if h.empty() {
			return connector.Result{NotFound: true}, nil
		}
		var r connector.Result
		for _, l := range wanted {
			moved := false
			for i, rows := range h {
				t := &c.plan.tables[i]
				for _, f := range t.Restrict {
					if f.Limit != l {
						continue
					}
					var keys []any
					for _, row := range rows {
						if !equal(row[t.pos[f.Column]], f.Value) {
							keys = append(keys, row[0])
						}
					}
					for _, batch := range batches(keys) {
						if err := c.exec(ctx, tx, t, c.plan.update(t, []assignment{{f.Column, f.Value}}, batch)); err != nil {
							return r, err
						}
					}
					moved = moved || len(keys) > 0
				}
			}
			if moved {
				r.Changed = append(r.Changed, string(l))
				if n := c.restrictNote(l, now); n != "" {
					r.Notes = append(r.Notes, n)
				}
			}
		}
		return r, nil
	}, nil
}

func (c *Connector) restrictNote(l domain.RestrictLimit, now time.Time) string {
	switch l {
	case domain.LimitAffiliateSharing:
		var names []string
		for _, a := range c.store.RecipientsOf(datamap.Affiliate) {
			names = append(names, a.Name)
		}
		note := "Sharing with affiliates stopped on " + now.Format(time.DateOnly) + "."
		if len(names) > 0 {
			note += " These affiliates had already received data and are not bound to remove it: " + strings.Join(names, ", ") + "."
		}
		return note
	case domain.LimitAllProcessing:
		return "Processing is restricted: the data is only stored until the restriction is lifted (GDPR Art. 18)."
	}
	return ""
}
