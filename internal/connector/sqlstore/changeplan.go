package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// Plan works out what the operation would change, by the same decisions as Apply, in a
// transaction that only reads and is rolled back. Input that breaks a rule wraps
// domain.ErrInvalid, as Apply's does; a review changes nothing and is refused.
func (c *Connector) Plan(ctx context.Context, op connector.Operation) (connector.ChangePlan, error) {
	p, err := c.changePlanOf(ctx, op)
	if err != nil {
		return connector.ChangePlan{}, fmt.Errorf("store %s plan %s: %w", c.store.Name, op.Type, err)
	}
	return p, nil
}

func (c *Connector) changePlanOf(ctx context.Context, op connector.Operation) (connector.ChangePlan, error) {
	email, body, err := c.changeOf(op)
	if err != nil {
		return connector.ChangePlan{}, err
	}
	opts := &sql.TxOptions{ReadOnly: datamap.Driver(c.plan.d) != datamap.SQLite}
	if datamap.Driver(c.plan.d) == datamap.MySQL {
		opts.Isolation = sql.LevelReadCommitted
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return connector.ChangePlan{}, sanitise(err)
	}
	defer tx.Rollback()
	h, err := c.load(ctx, tx, email, false, nil)
	if err != nil {
		return connector.ChangePlan{}, err
	}
	fk, err := c.foreignKeyOrder(ctx, tx)
	if err != nil {
		return connector.ChangePlan{}, err
	}
	cs, err := body(h, c.now().UTC().Truncate(time.Second))
	if err != nil {
		return connector.ChangePlan{}, err
	}
	return c.changePlan(op.RequestID, h, cs, fk), nil
}
