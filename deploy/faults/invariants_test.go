package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// checker holds the invariants every settled request must meet.
type checker struct {
	c    *cluster
	d    *driver
	app  *pgxpool.Pool
	wait time.Duration // how long mail still on its way may take
}

// check returns every invariant the settled flow breaks.
func (k *checker) check(ctx context.Context, f *flow) []error {
	if !f.accepted {
		// No 202: the driver never got an answer it could act on, which the faults must not
		// cause for longer than a flow's time.
		return []error{fmt.Errorf("flow %d (%s): intake never answered 202: %v", f.n, f.typ, f.problem)}
	}
	var errs []error
	if f.problem != nil {
		errs = append(errs, fmt.Errorf("request %s (%s): %w", f.id, f.typ, f.problem))
	}
	errs = append(errs, k.checkStores(ctx, f)...)
	if err := k.checkMail(ctx, f); err != nil {
		errs = append(errs, err)
	}
	if err := k.checkOneRequest(ctx, f); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// checkStores compares each store's row with what the request should have done to it:
// every change applied once (the trigger's count), none lost (the value), nothing changed
// by a review.
func (k *checker) checkStores(ctx context.Context, f *flow) []error {
	if f.status != "completed" {
		return nil // a waiting request has not changed anything yet, and may not
	}
	var errs []error
	for _, store := range []string{"crm", "billing"} {
		var row storeRow
		err := retry(ctx, time.Second, func() error {
			var err error
			row, err = readRow(ctx, k.c.stores, store, f.person.id, f.id)
			return err
		})
		if err != nil {
			return append(errs, fmt.Errorf("request %s: read %s: %w", f.id, store, err))
		}
		wantUpdates, wantBooked, wantName, wantFlag := 1, 1, f.person.name, true
		switch f.typ {
		case "review":
			wantUpdates, wantBooked = 0, 0
		case "correct", "update":
			wantName = f.newName()
		case "suppress":
			wantName = ""
		case "restrict":
			wantFlag = false
		}
		name := ""
		if row.name != nil {
			name = *row.name
		}
		if row.updates != wantUpdates || name != wantName || row.flag != wantFlag || (wantBooked > 0 && row.booked != wantBooked) {
			errs = append(errs, fmt.Errorf("request %s (%s) in %s: row updated %d time(s), name %q, flag %v, booked %d; want %d update(s), name %q, flag %v, booked %d",
				f.id, f.typ, store, row.updates, name, row.flag, row.booked, wantUpdates, wantName, wantFlag, wantBooked))
		}
	}
	return errs
}

// checkMail waits until the sink holds exactly one message for each notice the mail log
// records for the request, and none it does not; a completed request's completion notice
// among them.
func (k *checker) checkMail(ctx context.Context, f *flow) error {
	ctx, cancel := context.WithTimeout(ctx, k.wait)
	defer cancel()
	var logged, filed map[string]int
	for {
		var err error
		logged, err = k.mailLog(ctx, f.id)
		if err == nil {
			filed, err = k.d.mail.byKind(f.person.email)
		}
		if err == nil && maps.Equal(logged, filed) && (f.status != "completed" || logged["completion"] == 1) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("request %s (%s, %s): the mail log records %v, the mail server received %v", f.id, f.typ, f.status, logged, filed)
		case <-time.After(time.Second):
		}
	}
}

func (k *checker) mailLog(ctx context.Context, requestID string) (map[string]int, error) {
	rows, err := k.app.Query(ctx, `SELECT kind, count(*) FROM mail_log WHERE request_id = $1 GROUP BY kind`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, err
		}
		out[kind] = n
	}
	return out, rows.Err()
}

// checkOneRequest makes sure the intake opened one request, however often it was retried
// across the APIs.
func (k *checker) checkOneRequest(ctx context.Context, f *flow) error {
	view, err := k.d.staffView(ctx, f)
	if err != nil {
		return fmt.Errorf("request %s: staff view: %w", f.id, err)
	}
	var list struct {
		Requests []struct{ ID string } `json:"requests"`
	}
	err = k.d.retryCall(ctx, f, func(api string) error {
		return f.call(ctx, http.MethodGet, api+"/api/v1/admin/requests?email_hash="+view.EmailHash, k.c.token, nil, nil, &list, nil)
	})
	if err != nil {
		return fmt.Errorf("request %s: list by address: %w", f.id, err)
	}
	if len(list.Requests) != 1 {
		return fmt.Errorf("request %s (%s): the address has %d requests, want 1: %v", f.id, f.typ, len(list.Requests), list.Requests)
	}
	return nil
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}
