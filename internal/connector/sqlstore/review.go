package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
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
		r.Found, r.Export, r.DisclosedTo = c.plan.categoriesOf(h), c.plan.export(h), c.disclosures(h)
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
