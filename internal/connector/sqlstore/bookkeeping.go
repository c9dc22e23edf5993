package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
)

// The bookkeeping table holds one row per (store, request, operation) applied in the
// store's database, written in the same transaction as the changes, so that a retry finds
// the first result instead of changing anything again. It holds no exported data, and a
// correction's old values only sealed (see bookkept).
const maxKeyLength = 128

func (p plan) createBookkeeping(table string) string {
	result, at := "TEXT", "TIMESTAMP"
	if datamap.Driver(p.d) == datamap.MySQL {
		result, at = "LONGTEXT", "DATETIME"
	}
	return "CREATE TABLE IF NOT EXISTS " + p.d.quote(table) + " (store VARCHAR(128) NOT NULL, request_id VARCHAR(128) NOT NULL, " +
		"operation VARCHAR(32) NOT NULL, result " + result + " NOT NULL, applied_at " + at + " NOT NULL, " +
		"PRIMARY KEY (store, request_id, operation))"
}

// claim inserts the operation's row unless it exists. A concurrent run of the same
// operation waits on the row's lock here and then finds it taken.
func (p plan) claim(table string) string {
	s := &statement{d: p.d}
	s.sql("INSERT INTO ").ident(table).sql(" (store, request_id, operation, result, applied_at) VALUES (").arg(nil).sql(", ").arg(nil).sql(", ").
		arg(nil).sql(", ").arg(nil).sql(", ").arg(nil).sql(")")
	if datamap.Driver(p.d) == datamap.MySQL {
		// Rows affected is 0 when the key exists, as with ON CONFLICT DO NOTHING.
		return s.sql(" ON DUPLICATE KEY UPDATE request_id = request_id").String()
	}
	return s.sql(" ON CONFLICT DO NOTHING").String()
}

func (p plan) storedResult(table string) string {
	s := &statement{d: p.d}
	s.sql("SELECT result FROM ").ident(table).sql(" WHERE store = ").arg(nil).sql(" AND request_id = ").arg(nil).
		sql(" AND operation = ").arg(nil)
	return s.String()
}

func (p plan) recordResult(table string) string {
	s := &statement{d: p.d}
	s.sql("UPDATE ").ident(table).sql(" SET result = ").arg(nil).sql(" WHERE store = ").arg(nil).
		sql(" AND request_id = ").arg(nil).sql(" AND operation = ").arg(nil)
	return s.String()
}

// ensureBookkeeping creates the bookkeeping table on first use.
func (c *Connector) ensureBookkeeping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bookkeeping {
		return nil
	}
	if _, err := c.db.ExecContext(ctx, c.plan.createBookkeeping(c.store.BookkeepingTable)); err != nil {
		// Another process creating it at the same moment can make IF NOT EXISTS fail.
		probe := "SELECT 1 FROM " + c.plan.d.quote(c.store.BookkeepingTable) + " WHERE 1 = 0"
		if _, err2 := c.db.ExecContext(ctx, probe); err2 != nil {
			return fmt.Errorf("create bookkeeping table: %w", sanitise(err))
		}
	}
	c.bookkeeping = true
	return nil
}

// applyOnce runs body once per (request, operation): in one transaction it claims the
// operation's bookkeeping row, loads and locks the person's rows, checks them against the
// operation's plan when it has one, applies the change in foreign key order and records
// its result. If the row was claimed before, it returns the recorded result and changes
// nothing. Every call returns the result decoded from JSON, so a first run and a retry
// return identical values. Rows that differ from the plan roll everything back and return
// a *connector.StalePlanError.
func (c *Connector) applyOnce(ctx context.Context, op connector.Operation, email string, body change) (connector.Result, error) {
	requestID, operation := op.RequestID, string(op.Type)
	if err := c.ensureBookkeeping(ctx); err != nil {
		return connector.Result{}, err
	}
	var opts *sql.TxOptions
	if datamap.Driver(c.plan.d) == datamap.MySQL {
		// InnoDB's default repeatable read would lock every row a locking read scans, the
		// whole table when the identity column is compared through lower(trim()).
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return connector.Result{}, sanitise(err)
	}
	defer tx.Rollback()
	table := c.store.BookkeepingTable
	now := c.now().UTC().Truncate(time.Second)
	claimed, err := tx.ExecContext(ctx, c.plan.claim(table), c.store.Name, requestID, operation, "", now)
	if err != nil {
		return connector.Result{}, fmt.Errorf("claim operation: %w", sanitise(err))
	}
	if n, err := claimed.RowsAffected(); err != nil {
		return connector.Result{}, err
	} else if n == 0 {
		var stored string
		err := tx.QueryRowContext(ctx, c.plan.storedResult(table), c.store.Name, requestID, operation).Scan(&stored)
		if err != nil {
			return connector.Result{}, fmt.Errorf("read applied operation: %w", sanitise(err))
		}
		return c.openBookkept(stored, requestID, operation)
	}
	h, err := c.load(ctx, tx, email, true, nil)
	if err != nil {
		return connector.Result{}, err
	}
	fk, err := c.foreignKeyOrder(ctx, tx)
	if err != nil {
		return connector.Result{}, err
	}
	cs, err := body(h, now)
	if err != nil {
		return connector.Result{}, err
	}
	if op.Plan != nil {
		if diff := op.Plan.Compare(c.changePlan(requestID, h, cs, fk)); len(diff) > 0 {
			return connector.Result{}, &connector.StalePlanError{Store: c.store.Name, Differences: diff}
		}
	}
	if err := c.write(ctx, tx, cs, fk.order); err != nil {
		return connector.Result{}, sanitise(err)
	}
	r := cs.result
	// h holds the rows as they were before body changed them: a restriction that stops
	// the sharing still reports the recipients the data already went to.
	r.Store, r.DisclosedTo = c.store.Name, c.disclosures(h)
	b, err := json.Marshal(r)
	if err != nil {
		return connector.Result{}, err
	}
	kept, err := c.sealBookkept(r, requestID, operation)
	if err != nil {
		return connector.Result{}, err
	}
	if _, err := tx.ExecContext(ctx, c.plan.recordResult(table), kept, c.store.Name, requestID, operation); err != nil {
		return connector.Result{}, fmt.Errorf("record applied operation: %w", sanitise(err))
	}
	if err := tx.Commit(); err != nil {
		return connector.Result{}, sanitise(err)
	}
	var out connector.Result
	return out, json.Unmarshal(b, &out)
}

// bookkept is a result as the bookkeeping table holds it: old values of a correction are
// sealed with the key ring, bound to the store, request and operation, because the whole
// point of a correction is that the old value no longer sits in the store in clear.
type bookkept struct {
	connector.Result
	BeforeKey    string `json:"before_key,omitempty"`
	BeforeSealed []byte `json:"before_sealed,omitempty"`
}

func (c *Connector) sealingAD(requestID, operation string) []byte {
	return []byte(c.store.Name + "\x00" + requestID + "\x00" + operation)
}

func (c *Connector) sealBookkept(r connector.Result, requestID, operation string) (string, error) {
	k := bookkept{Result: r}
	k.Before = nil
	if len(r.Before) > 0 && c.sealing != nil {
		plain, err := json.Marshal(r.Before)
		if err != nil {
			return "", err
		}
		if k.BeforeKey, k.BeforeSealed, err = c.sealing.Seal(plain, c.sealingAD(requestID, operation)); err != nil {
			return "", fmt.Errorf("seal old values: %w", err)
		}
	}
	b, err := json.Marshal(k)
	return string(b), err
}

func (c *Connector) openBookkept(stored, requestID, operation string) (connector.Result, error) {
	var k bookkept
	if err := json.Unmarshal([]byte(stored), &k); err != nil {
		return connector.Result{}, fmt.Errorf("read applied operation: %w", err)
	}
	if len(k.BeforeSealed) > 0 && c.sealing != nil {
		plain, err := c.sealing.Open(k.BeforeKey, k.BeforeSealed, c.sealingAD(requestID, operation))
		if err != nil {
			return connector.Result{}, fmt.Errorf("open old values: %w", err)
		}
		if err := json.Unmarshal(plain, &k.Before); err != nil {
			return connector.Result{}, fmt.Errorf("open old values: %w", err)
		}
	}
	return k.Result, nil
}
