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

// restriction sets the flag columns of each limit, or with lift sets them back to the
// value the data map gives for a lifted limit. Changed lists the limits whose flag moved
// (as domain.LiftedChange for a lift); notes name the affiliates that already received
// data, which an opt-out cannot recall. Limits this store has no flag for are left to
// other stores; a flag the map gives no lifted value for refuses a lift.
func (c *Connector) restriction(limits []domain.RestrictLimit, lift bool) (change, error) {
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
		if lift {
			if f, ok := c.flagWithoutLift(l); ok {
				return nil, fmt.Errorf("column %s of %s has no lifted value in the data map, so limit %s cannot be lifted here: %w", f.Column, c.store.Name, l, domain.ErrInvalid)
			}
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
					value := f.Value
					if lift {
						value = f.Lifted
					}
					var keys []any
					for _, row := range rows {
						if !equal(row[t.pos[f.Column]], value) {
							keys = append(keys, row[0])
						}
					}
					if len(keys) > 0 {
						cs.updates = append(cs.updates, rowUpdate{table: i, sets: []assignment{{f.Column, value, connector.ActionSet}}, keys: keys})
						moved = true
					}
				}
			}
			switch {
			case moved && lift:
				r.Changed = append(r.Changed, domain.LiftedChange(l))
				if n := liftNote(l, now); n != "" {
					r.Notes = append(r.Notes, n)
				}
			case moved:
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

// flagWithoutLift returns a flag of limit l that the data map gives no lifted value for.
func (c *Connector) flagWithoutLift(l domain.RestrictLimit) (datamap.Flag, bool) {
	for _, t := range c.plan.tables {
		for _, f := range t.Restrict {
			if f.Limit == l && !f.CanLift {
				return f, true
			}
		}
	}
	return datamap.Flag{}, false
}

// liftNote says when a lifted limit stopped applying, for the limits whose end matters
// to the person beyond the flag itself.
func liftNote(l domain.RestrictLimit, now time.Time) string {
	switch l {
	case domain.LimitAffiliateSharing:
		return "Sharing with affiliates allowed again from " + now.Format(time.DateOnly) + "."
	case domain.LimitAllProcessing:
		return "The restriction of processing was lifted on " + now.Format(time.DateOnly) + " (GDPR Art. 18(3))."
	}
	return ""
}
