package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
)

// A request's change is decided first and written second, so that the same decisions
// serve the plan an analyst reads (written nowhere) and the apply (written in one
// transaction): the plan cannot say one thing while the apply does another.

// change decides, on the person's rows, what an operation does; it writes nothing.
type change func(h holding, now time.Time) (changeSet, error)

// changeSet is an operation's decisions: the result it reports and the statements that
// carry it out.
type changeSet struct {
	result  connector.Result
	updates []rowUpdate
	// deletes are, by table in plan order, the primary keys of the rows to delete.
	deletes [][]any
	// kept counts, by table, the rows left as they are for a retention reason.
	kept []int
}

// rowUpdate sets columns of the rows with the given primary keys of one table.
type rowUpdate struct {
	table int
	sets  []assignment
	keys  []any
}

func newChangeSet(h holding) changeSet {
	return changeSet{deletes: make([][]any, len(h)), kept: make([]int, len(h))}
}

// write carries the decisions out: updates in the order decided, then deletions table by
// table in order, so that a row is deleted before the rows it points at.
func (c *Connector) write(ctx context.Context, q querier, cs changeSet, order []int) error {
	for _, u := range cs.updates {
		t := &c.plan.tables[u.table]
		for _, batch := range batches(u.keys) {
			if err := c.exec(ctx, q, t, c.plan.update(t, u.sets, batch)); err != nil {
				return err
			}
		}
	}
	for _, i := range order {
		t := &c.plan.tables[i]
		for _, batch := range batches(cs.deletes[i]) {
			if err := c.exec(ctx, q, t, c.plan.delete(t, batch)); err != nil {
				return err
			}
		}
	}
	return nil
}

// changePlan describes the decisions for people: per table the rows matched, with a digest
// each, and what happens to each column in how many rows.
func (c *Connector) changePlan(requestID string, h holding, cs changeSet, fk fkOrder) connector.ChangePlan {
	p := connector.ChangePlan{Store: c.store.Name, NotFound: h.empty(), Retained: cs.result.Retained, Cycles: fk.cycles}
	for _, i := range fk.order {
		p.Order = append(p.Order, c.plan.tables[i].Name)
	}
	counts := make([]map[connector.ColumnChange]int, len(h))
	updated := make([]map[string]bool, len(h))
	for _, u := range cs.updates {
		if updated[u.table] == nil {
			updated[u.table] = map[string]bool{}
		}
		for _, k := range u.keys {
			updated[u.table][text(k)] = true
		}
		if counts[u.table] == nil {
			counts[u.table] = map[connector.ColumnChange]int{}
		}
		for _, s := range u.sets {
			counts[u.table][connector.ColumnChange{Column: s.column, Action: s.action}] += len(u.keys)
		}
	}
	for i, rows := range h {
		t := &c.plan.tables[i]
		tc := connector.TableChange{Table: t.Name, Matched: len(rows), Deleted: len(cs.deletes[i]), Updated: len(updated[i]), Kept: cs.kept[i]}
		for _, r := range rows {
			tc.Rows = append(tc.Rows, connector.PlannedRow{Key: text(r[0]), Digest: rowDigest(requestID, r)})
		}
		if tc.Deleted > 0 {
			for _, col := range t.PII {
				tc.Columns = append(tc.Columns, connector.ColumnChange{Column: col.Name, Action: connector.ActionDelete, Rows: tc.Deleted})
			}
		}
		for _, col := range t.columns {
			for _, a := range []connector.ColumnAction{connector.ActionNull, connector.ActionMask, connector.ActionHash, connector.ActionSet} {
				if n := counts[i][connector.ColumnChange{Column: col, Action: a}]; n > 0 {
					tc.Columns = append(tc.Columns, connector.ColumnChange{Column: col, Action: a, Rows: n})
				}
			}
		}
		p.Tables = append(p.Tables, tc)
	}
	return p
}

// rowDigest fingerprints a row's values as read, which are the values every decision is
// made on. The request ID salts it, so that equal rows of two requests do not compare.
func rowDigest(requestID string, r record) string {
	h := sha256.New()
	for _, field := range append([]any{requestID}, r...) {
		s := text(field)
		if field == nil {
			s = "\x00null"
		}
		var size [8]byte
		binary.BigEndian.PutUint64(size[:], uint64(len(s)))
		h.Write(size[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
