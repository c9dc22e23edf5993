package sqlstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

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
// does not hold, or its data map does not name (another map's, which intake accepted), are
// ignored; a scope that names nothing wraps domain.ErrInvalid.
func (c *Connector) suppression(scope domain.SuppressScope) (change, error) {
	inScope := map[string]bool{}
	for _, name := range scope.Categories {
		if _, ok := c.store.Categories.Find(name); ok {
			inScope[name] = true
		}
	}
	if !scope.All && len(scope.Categories) == 0 {
		return nil, fmt.Errorf("scope names nothing: %w", domain.ErrInvalid)
	}
	if c.plan.usesHash && len(c.hashKey) == 0 {
		return nil, fmt.Errorf("the data map hashes columns but the connector has no hash key (sqlstore.WithHashKey)")
	}
	return func(h holding, now time.Time) (changeSet, error) {
		cs := newChangeSet(h)
		cs.result = connector.Result{Found: c.plan.categoriesOf(h), NotFound: h.empty()}
		if cs.result.NotFound {
			return cs, nil
		}
		rs := matchedRows(h)
		c.decide(rs, scope.All, inScope)
		c.keep(rs, now, false)
		cs.result.Retained = c.spare(rs, cs.kept)
		erased := map[string]bool{}
		for i, list := range rs {
			for _, row := range list {
				switch {
				case row.act.delete:
					cs.deletes[i] = append(cs.deletes[i], row.values[0])
				case len(row.act.sets) > 0:
					cs.updates = append(cs.updates, rowUpdate{table: i, sets: row.act.sets, keys: []any{row.values[0]}})
				default:
					continue
				}
				markAll(erased, row.act.erases)
			}
		}
		cs.result.Changed = c.plan.sorted(erased)
		return cs, nil
	}, nil
}

func markAll(set map[string]bool, names []string) {
	for _, n := range names {
		set[n] = true
	}
}

// decide sets each row's action, parents first so that deletions cascade.
func (c *Connector) decide(rs [][]*matchedRow, all bool, inScope map[string]bool) {
	for i, list := range rs {
		t := &c.plan.tables[i]
		deleted := map[string]bool{}
		if t.parent >= 0 {
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			for _, p := range rs[t.parent] {
				if p.act.delete {
					deleted[text(p.values[key])] = true
				}
			}
		}
		for _, row := range list {
			row.act = c.rowAction(t, row.values, all, inScope)
			if t.parent >= 0 && deleted[text(row.values[t.pos[t.ReachedThrough.Column]])] {
				row.act = action{delete: true, erases: heldCategories(t, row.values)}
			}
		}
	}
}

func (c *Connector) rowAction(t *tablePlan, v record, all bool, inScope map[string]bool) action {
	if all && t.Suppress.All == datamap.DeleteRow {
		return action{delete: true, erases: heldCategories(t, v)}
	}
	var a action
	for _, col := range t.PII {
		held := v[t.pos[col.Name]]
		if !(all || inScope[col.Category]) || !holds(held) {
			continue
		}
		switch t.Suppress.Columns[col.Name] {
		case datamap.DeleteRow:
			return action{delete: true, erases: heldCategories(t, v)}
		case datamap.Null:
			a.sets = append(a.sets, assignment{col.Name, nil, connector.ActionNull})
		case datamap.Mask:
			a.sets = append(a.sets, assignment{col.Name, datamap.MaskValue, connector.ActionMask})
		case datamap.Hash:
			mac := hmac.New(sha256.New, c.hashKey)
			mac.Write([]byte(text(held)))
			a.sets = append(a.sets, assignment{col.Name, hex.EncodeToString(mac.Sum(nil)), connector.ActionHash})
		}
		if !slices.Contains(a.erases, col.Category) {
			a.erases = append(a.erases, col.Category)
		}
	}
	return a
}

func heldCategories(t *tablePlan, v record) []string {
	var out []string
	for _, col := range t.PII {
		if holds(v[t.pos[col.Name]]) && !slices.Contains(out, col.Category) {
			out = append(out, col.Category)
		}
	}
	return out
}

// spare cancels the actions on rows that must be kept, counts them by table in kept, and
// returns why they were kept. A row kept for its own reason keeps the row it is reached
// through from deletion too, since the kept row would point at nothing.
func (c *Connector) spare(rs [][]*matchedRow, kept []int) []connector.Retention {
	found := make([][]connector.Retention, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		t := &c.plan.tables[i]
		for _, row := range rs[i] {
			k := row.kept
			if k == nil || row.act.none() {
				continue
			}
			found[i] = append(found[i], k.Retention)
			kept[i]++
			row.act = action{}
			if k.inherited || t.parent < 0 {
				continue
			}
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			link := text(row.values[t.pos[t.ReachedThrough.Column]])
			for _, p := range rs[t.parent] {
				if p.act.delete && text(p.values[key]) == link {
					p.kept = &reason{Retention: k.Retention}
				}
			}
		}
	}
	var out []connector.Retention
	for _, list := range found {
		for _, r := range list {
			out = addRetention(out, r)
		}
	}
	return out
}
