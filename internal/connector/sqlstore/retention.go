package sqlstore

import (
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// reason is why a row must be kept; inherited marks the reason of the row it is reached
// through (the lines of a retained order).
type reason struct {
	connector.Retention
	inherited bool
}

// keep sets on each row why it must be kept, or nil: a legal hold, a running retention
// period, or the reason of the row it is reached through. legalOnly leaves retention
// periods out, for changes that keep the record (corrections).
func (c *Connector) keep(rs [][]*matchedRow, now time.Time, legalOnly bool) {
	for i, list := range rs {
		t := &c.plan.tables[i]
		parents := map[string]*reason{}
		if t.parent >= 0 {
			key := c.plan.tables[t.parent].pos[t.ReachedThrough.Key]
			for _, p := range rs[t.parent] {
				if p.kept != nil {
					parents[text(p.values[key])] = &reason{Retention: p.kept.Retention, inherited: true}
				}
			}
		}
		for _, r := range list {
			r.kept = c.ownReason(t, r.values, now, legalOnly)
			if r.kept == nil && t.parent >= 0 {
				r.kept = parents[text(r.values[t.pos[t.ReachedThrough.Column]])]
			}
		}
	}
}

// ownReason is why a row must be kept for itself, not for the row it is reached through,
// or nil.
func (c *Connector) ownReason(t *tablePlan, v record, now time.Time, legalOnly bool) *reason {
	switch {
	case t.LegalHold != nil && truthy(v[t.pos[t.LegalHold.Column]]):
		return &reason{Retention: connector.Retention{What: c.describe(t, t.describe, v), Reason: t.LegalHold.Basis, Ref: ref(t, v)}}
	case !legalOnly && len(t.Retention) > 0:
		dates := map[string]time.Time{}
		for _, rule := range t.Retention {
			if d, ok := connector.ParseTime(v[t.pos[rule.Column]]); ok {
				dates[rule.Column] = d
			}
		}
		if rule, until, ok := t.Retained(dates, now); ok {
			tmpl := rule.Describe
			if tmpl == "" {
				tmpl = t.describe
			}
			return &reason{Retention: connector.Retention{What: c.describe(t, tmpl, v), Reason: rule.Basis, Until: until, Ref: ref(t, v)}}
		}
	}
	return nil
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
