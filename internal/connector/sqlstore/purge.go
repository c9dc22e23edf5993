package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// ref names a row for a later purge: its table and primary key. Table names are validated
// identifiers, so the first colon separates them.
func ref(t *tablePlan, r record) string { return t.Name + ":" + text(r[0]) }

// Purge erases a record kept by a suppression once its retention has ended: the row ref
// names and the rows reached through it, in one transaction. It checks again before
// deleting, so a legal hold set since, or a period that now runs longer, keeps the record.
// A record already gone counts as purged, so a retry changes nothing.
func (c *Connector) Purge(ctx context.Context, refText string) (connector.PurgeOutcome, error) {
	name, key, ok := strings.Cut(refText, ":")
	i := c.plan.index(name)
	if !ok || i < 0 {
		return connector.PurgeOutcome{}, fmt.Errorf("store %s: purge reference names no table of the data map", c.store.Name)
	}
	var out connector.PurgeOutcome
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		h, err := c.loadRecord(ctx, tx, i, key)
		if err != nil || len(h[i]) == 0 {
			out.Purged = err == nil
			return err
		}
		rs := matchedRows(h)
		c.keep(rs, c.now(), false)
		if k := rs[i][0].kept; k != nil {
			out.LegalHold = k.Until.IsZero()
			out.HeldUntil = k.Until
			return nil
		}
		for j := len(h) - 1; j >= i; j-- { // rows reached through others go first
			t := &c.plan.tables[j]
			keys := distinct(h[j], 0)
			for _, batch := range batches(keys) {
				if err := c.exec(ctx, tx, t, c.plan.delete(t, batch)); err != nil {
					return err
				}
			}
		}
		out.Purged = true
		return nil
	})
	return out, err
}

// loadRecord reads one row of table i, locked, and the rows reached through it.
func (c *Connector) loadRecord(ctx context.Context, tx *sql.Tx, i int, key string) (holding, error) {
	h := make(holding, len(c.plan.tables))
	t := &c.plan.tables[i]
	s := &statement{d: c.plan.d}
	s.sql(t.selectFrom, " WHERE ").ident(t.PrimaryKey).sql(" = ").arg(key).sql(c.plan.d.lock())
	rows, err := c.query(ctx, tx, t, s)
	if err != nil {
		return nil, err
	}
	h[i] = rows
	inRecord := map[int]bool{i: true}
	for j := i + 1; j < len(c.plan.tables); j++ {
		child := &c.plan.tables[j]
		if child.parent < 0 || !inRecord[child.parent] || len(h[child.parent]) == 0 {
			continue
		}
		inRecord[j] = true
		keys := distinct(h[child.parent], c.plan.tables[child.parent].pos[child.ReachedThrough.Key])
		for _, batch := range batches(keys) {
			rows, err := c.query(ctx, tx, child, c.plan.byLink(child, batch, true))
			if err != nil {
				return nil, err
			}
			h[j] = append(h[j], rows...)
		}
	}
	return h, nil
}

// inTx runs fn in a transaction, committed when fn succeeds. MySQL reads committed rows so
// that its locking reads lock only the rows they return.
func (c *Connector) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if datamap.Driver(c.plan.d) == datamap.MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return sanitise(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return sanitise(tx.Commit())
}
