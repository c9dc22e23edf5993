package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/domain"
)

// The fanout scenario's stores: one signing key, its secret derived from the server secret
// and handed to the data map through this environment variable.
const (
	fanoutKeyID     = "bench-fanout"
	fanoutSecretEnv = "DSR_BENCH_FANOUT_SECRET"
)

// fanoutIdentityPolicy asks for the mailbox code alone, so no analyst step is measured.
const fanoutIdentityPolicy = "review=mailbox,suppress=mailbox"

// fanoutScenario runs the fanout scenario on a side stack: a worker and an API of this
// process on the main stack's engine and database, with a queue, a data map and an identity
// policy of their own, so that the demo company of the other scenarios is not touched.
func fanoutScenario(s *benchStack, o bench.FanoutOptions) bench.Scenario {
	return bench.Scenario{Name: "fanout", Run: func(ctx context.Context, progress io.Writer) ([]bench.Figure, error) {
		secret := []byte(hex.EncodeToString(s.cfg.Secret.Derive("bench-fanout-stores")))
		stub, err := bench.StartWebhookStub(fanoutKeyID, secret)
		if err != nil {
			return nil, err
		}
		defer stub.Close()
		side, err := startFanoutStack(ctx, s, stub, secret, o.Stores)
		if err != nil {
			return nil, err
		}
		defer side.stop()
		fmt.Fprintf(progress, "   %d webhook stores, task queue %s\n", o.Stores, side.cfg.TaskQueue)
		o.Target, o.Stub = side.target, stub
		return bench.Fanout(o).Run(ctx, progress)
	}}
}

// startFanoutStack starts the side stack of the fanout scenario; stop ends it.
func startFanoutStack(ctx context.Context, s *benchStack, stub *bench.WebhookStub, secret []byte, stores int) (_ *benchStack, err error) {
	side := &benchStack{db: s.db, databaseURL: s.databaseURL, engine: s.engine, temporalAddress: s.temporalAddress, log: s.log, client: s.client}
	defer func() {
		if err != nil {
			side.stop()
		}
	}()
	dir, err := os.MkdirTemp("", "dsr-bench-fanout-")
	if err != nil {
		return nil, err
	}
	side.closers = append(side.closers, func() { os.RemoveAll(dir) })
	cfg := s.cfg
	cfg.TaskQueue += "-fanout"
	cfg.DemoStore = "off"
	cfg.DataMap = filepath.Join(dir, "datamap.yaml")
	if err := os.WriteFile(cfg.DataMap, bench.FanoutDataMap(stub.URL(), fanoutKeyID, fanoutSecretEnv, stores), 0o600); err != nil {
		return nil, err
	}
	if cfg.Identity, err = domain.ParseIdentityPolicy(fanoutIdentityPolicy); err != nil {
		return nil, err
	}
	// The worker and the API read a webhook store's secret from the environment when they
	// start; it is gone again once the scenario ends.
	if err := os.Setenv(fanoutSecretEnv, string(secret)); err != nil {
		return nil, err
	}
	side.closers = append(side.closers, func() { os.Unsetenv(fanoutSecretEnv) })
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	stopWorker, err := startInProcessWorker(ctx, s.client, s.db, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	side.closers = append(side.closers, stopWorker)
	stopAPI, err := serveBenchAPI(ctx, s.log, s.client, s.db, cfg, ln, "fanout API")
	if err != nil {
		return nil, err
	}
	side.closers = append(side.closers, stopAPI)
	side.cfg, side.target = cfg, s.target
	side.target.BaseURL = cfg.PublicURL
	return side, waitBenchReady(ctx, side.target.BaseURL)
}
