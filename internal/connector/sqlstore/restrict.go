package sqlstore

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

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
	return func(h holding, now time.Time) (changeSet, error) {
		cs := newChangeSet(h)
		if h.empty() {
			cs.result.NotFound = true
			return cs, nil
		}
		r := &cs.result
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
					if len(keys) > 0 {
						cs.updates = append(cs.updates, rowUpdate{table: i, sets: []assignment{{f.Column, f.Value, connector.ActionSet}}, keys: keys})
						moved = true
					}
				}
			}
			if moved {
				r.Changed = append(r.Changed, string(l))
				if n := c.restrictNote(l, now); n != "" {
					r.Notes = append(r.Notes, n)
				}
			}
		}
		return cs, nil
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
