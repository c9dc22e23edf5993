package bench_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/devengine"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/workflows"
)

var quietLog = slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))

// unlimitedRates are rate limits no scenario reaches.
var unlimitedRates = api.RateLimits{
	IntakePerIP: api.Rate{Events: 1 << 20, Per: time.Second}, IntakePerAddress: api.Rate{Events: 1 << 20, Per: time.Second},
	VerifyPerIP: api.Rate{Events: 1 << 20, Per: time.Second}, VerifyPerRequest: api.Rate{Events: 1 << 20, Per: time.Second},
}

// startTarget runs what the scenarios drive, in this process: an embedded Temporal server,
// a dsr worker and the API with the dev mailbox, on a fresh PostgreSQL schema. It returns
// the target and the database's URL.
func startTarget(t *testing.T) (bench.Target, string) {
	t.Helper()
	ctx := context.Background()
	eng, err := devengine.Start(devengine.Options{Log: quietLog, LogLevel: slog.LevelError})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Stop)
	c, err := client.Dial(client.Options{HostPort: eng.Address, Namespace: "default", Logger: sdklog.NewStructuredLogger(quietLog)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := engine.EnsureSearchAttributes(ctx, c, "default", workflows.SearchAttributes); err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.PostgresURL(t)
	db := testenv.OpenMigrated(t, dbURL)
	secret := keys.Secret(bytes.Repeat([]byte{9}, keys.MinSecretBytes))
	requests, mailbox, tokens := requestdb.New(db), requestdb.NewDevMailbox(db), auth.New(db)
	const taskQueue = "dsr-bench-test"
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.Request)
	w.RegisterActivity(&activities.Activities{Requests: requests, Mail: mailbox, Secret: secret, Links: links.Builder{Base: "http://x", Secret: secret}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := httptest.NewServer(api.New(api.Options{
		Log: quietLog, Temporal: c, TaskQueue: taskQueue, Requests: requests, Tokens: tokens, Secret: secret,
		DevMailbox: mailbox, Identity: domain.DefaultIdentityPolicy(), Verification: workflows.DefaultVerificationSettings(),
		RateLimits: unlimitedRates, Sessions: auth.NewSessions(db),
	}).Handler())
	t.Cleanup(srv.Close)
	admin, _, err := tokens.Create(ctx, "bench-admin", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// Shared, so that the scenarios clean up as they must on a cluster, and the tests see it.
	return bench.Target{BaseURL: srv.URL, AdminToken: admin, Temporal: c, HTTP: bench.NewHTTPClient(8), Shared: true}, dbURL
}

func TestParkedMeasuresMemoryAndTimeToMoveOn(t *testing.T) {
	target, _ := startTarget(t)
	// The test's worker shares this process, so its memory stands in for the worker's; the
	// command measures a worker process of its own.
	rss := func() (int64, error) { return bench.ProcessRSS(os.Getpid()) }
	var progress strings.Builder
	figs, err := bench.Parked(bench.ParkedOptions{Target: target, Requests: 30, Confirm: 10, Concurrency: 8, WorkerRSS: rss}).
		Run(context.Background(), &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	got := figures(t, figs)
	for _, name := range []string{"worker RSS idle", "worker RSS with 30 parked", "code to next status p50", "code to next status p99",
		"verify answer p99", "park throughput"} {
		if f, ok := got[name]; !ok || f.Value <= 0 {
			t.Errorf("figure %q = %+v, want a positive value", name, f)
		}
	}
	if f := got["worker RSS with 30 parked"]; f.Pass == nil || f.Goal == "" {
		t.Errorf("memory figure %+v has no verdict", f)
	}
	if p50, p99 := got["code to next status p50"].Value, got["code to next status p99"].Value; p99 < p50 {
		t.Errorf("p99 %.1f ms < p50 %.1f ms", p99, p50)
	}
	if !strings.Contains(progress.String(), "parked requests (untimed)") {
		t.Errorf("progress does not report the clean-up:\n%s", progress.String())
	}
}

func TestParkedRefusesToRunWithoutAMemoryProbe(t *testing.T) {
	_, err := bench.Parked(bench.ParkedOptions{Target: bench.Target{BaseURL: "http://127.0.0.1:1"}}).Run(context.Background(), &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("err = %v, want one saying the worker's memory cannot be measured", err)
	}
}

func TestProcessRSSReadsThisProcess(t *testing.T) {
	got, err := bench.ProcessRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Any Go test binary holds more than 1 MB and, here, far less than 10 GB.
	if got < 1<<20 || got > 10<<30 {
		t.Errorf("RSS = %d bytes, want a plausible size", got)
	}
	if _, err := bench.ProcessRSS(-1); err == nil {
		t.Error("RSS of no process: want an error")
	}
}
