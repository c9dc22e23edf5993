package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// A fault breaks one thing for about outage and puts it back; the run then re-runs the
// script's start, as a supervisor would, and waits for the cluster to recover.
type fault func(ctx context.Context, r *run, outage time.Duration) error

var faults = map[string]fault{
	"worker-kill":       killWorker,
	"api-kill-intake":   killAPIMidIntake,
	"temporal-kill":     killTemporal,
	"postgres-restart":  restartPostgres,
	"smtp-down":         smtpDown,
	"store-unreachable": storeUnreachable,
	"store-slow":        storeSlow,
}

// faultOrder is the short run's order, and the long run's choice.
var faultOrder = []string{"worker-kill", "api-kill-intake", "temporal-kill", "postgres-restart", "smtp-down", "store-unreachable", "store-slow"}

func killWorker(_ context.Context, r *run, _ time.Duration) error {
	return r.c.kill9(fmt.Sprintf("worker-%d", 1+rand.IntN(2)))
}

// killAPIMidIntake opens a request and kills the API it went to as soon as the request is on
// the wire, before it can answer; the requester tries again on the other API with the same
// idempotency key.
func killAPIMidIntake(_ context.Context, r *run, _ time.Duration) error {
	killed := make(chan error, 1)
	var once sync.Once
	f := r.start(func(f *flow) {
		once.Do(func() { go func() { killed <- r.c.kill9(fmt.Sprintf("api-%d", 1+f.n%len(r.c.apis))) }() })
	})
	select {
	case err := <-killed:
		return err
	case <-f.done:
		return fmt.Errorf("request %d ended before its intake reached the API", f.n)
	case <-time.After(time.Minute):
		return fmt.Errorf("the intake of request %d was not sent within a minute", f.n)
	}
}

func killTemporal(_ context.Context, r *run, _ time.Duration) error { return r.c.kill9("temporal") }

// restartPostgres restarts the one server that holds dsr's database, Temporal's and the
// stores.
func restartPostgres(_ context.Context, r *run, _ time.Duration) error { return r.c.pg.Restart() }

func smtpDown(ctx context.Context, r *run, outage time.Duration) error {
	if err := r.c.kill9("smtpsink"); err != nil {
		return err
	}
	return pause(ctx, outage)
}

// storeUnreachable renames the crm store's schema away, so every query of it fails as if
// its database were gone, and back.
func storeUnreachable(ctx context.Context, r *run, outage time.Duration) error {
	if _, err := r.c.stores.Exec(ctx, `ALTER SCHEMA crm RENAME TO crm_away`); err != nil {
		return err
	}
	pauseErr := pause(ctx, outage)
	if _, err := r.c.stores.Exec(context.WithoutCancel(ctx), `ALTER SCHEMA crm_away RENAME TO crm`); err != nil {
		return err
	}
	return pauseErr
}

// storeSlow holds a lock on the billing store's table, so every read and write of it waits.
func storeSlow(ctx context.Context, r *run, outage time.Duration) error {
	tx, err := r.c.stores.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `LOCK TABLE billing.accounts IN ACCESS EXCLUSIVE MODE`); err != nil {
		return err
	}
	if err := pause(ctx, outage); err != nil {
		return err
	}
	return tx.Rollback(ctx)
}

// pause is the length of an outage; nothing waits on it to be in step.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
