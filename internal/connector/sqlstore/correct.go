package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// fieldChange is one field a correction changes in one row, with the value it replaces.
type fieldChange struct {
	column, field string
	from          any
	to            string
}

// correction sets the named fields to their new values wherever the store holds them.
// Fields this store does not hold, or its data map does not name, are left to other stores;
// an empty value (erasing is a suppression) wraps domain.ErrInvalid. Rows under legal
// hold are not changed and are reported as retained. Changed lists the fields whose value
// differed, Before their old values, which dsr keeps only as sealed audit evidence.
func (c *Connector) correction(changes []domain.FieldChange) (change, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("no changes: %w", domain.ErrInvalid)
	}
	want := map[string]string{} // the last change to a field wins
	for i, ch := range changes {
		v := strings.TrimSpace(ch.Value)
		if v == "" {
			return nil, fmt.Errorf("change %d has an empty value: %w", i, domain.ErrInvalid)
		}
		if _, ok := c.store.Categories.Find(ch.Field); ok {
			want[ch.Field] = v
		}
	}
	return func(h holding, now time.Time) (changeSet, error) {
		cs := newChangeSet(h)
		if h.empty() {
			cs.result.NotFound = true
			return cs, nil
		}
		r := &cs.result
		rs := matchedRows(h)
		c.keep(rs, now, true)
		changed := map[string]bool{}
		for i, list := range rs {
			for _, row := range list {
				fcs := corrections(&c.plan.tables[i], row.values, want)
				switch {
				case len(fcs) == 0:
				case row.kept != nil:
					r.Retained = addRetention(r.Retained, row.kept.Retention)
					cs.kept[i]++
				default:
					sets := make([]assignment, len(fcs))
					for k, fc := range fcs {
						sets[k] = assignment{fc.column, fc.to, connector.ActionSet}
					}
					cs.updates = append(cs.updates, rowUpdate{table: i, sets: sets, keys: []any{row.values[0]}})
					for _, fc := range fcs {
						changed[fc.field] = true
						r.Before = append(r.Before, connector.PriorValue{Table: c.plan.tables[i].Name, Field: fc.field, Value: fc.from})
					}
				}
			}
		}
		for _, f := range c.plan.fields {
			if changed[f] {
				r.Changed = append(r.Changed, f)
			}
		}
		return cs, nil
	}, nil
}

// corrections lists what want changes in one row: the correctable columns whose value
// differs from the new one, in the order the data map lists them.
func corrections(t *tablePlan, v record, want map[string]string) []fieldChange {
	var out []fieldChange
	for _, cr := range t.Correct {
		held := v[t.pos[cr.Column]]
		if to, ok := want[cr.Field]; ok && !equal(held, to) {
			out = append(out, fieldChange{column: cr.Column, field: cr.Field, from: held, to: to})
		}
	}
	return out
}
