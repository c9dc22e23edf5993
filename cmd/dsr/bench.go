package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/devengine"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// benchScenarioNames are the scenarios of `dsr bench`, in the order they run.
var benchScenarioNames = []string{"intake", "e2e", "fanout", "stores", "parked", "dashboard"}

// benchTaskQueue begins the stack's task queue unless --task-queue says otherwise. Each run
// takes a queue of its own: workflows an interrupted run left behind are encrypted with
// that run's codec key, and a later run's worker could only fail on them.
const benchTaskQueue = "dsr-bench"

// benchFlags are the command's own flags; the stack's settings are dev's.
type benchFlags struct {
	scenarios, out, temporalAddress, storeDatabaseURL, cpuProfile, cpuProcesses    string
	quick                                                                          bool
	concurrency, intake, e2e, fanoutStores, fanout, storePeople, parked, dashboard int
	storeSizes                                                                     []int
}

// quickBenchSizes are the smoke run's sizes: seconds, not minutes.
var quickBenchSizes = map[string]string{
	"concurrency": "8", "intake-requests": "40", "e2e-requests": "8", "fanout-requests": "8", "fanout-stores": "7", "store-sizes": "1000,2000",
	"store-people": "3", "parked-requests": "20", "dashboard-requests": "5000",
}

func benchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure dsr against same-run baselines on the engine it runs on; prints a Markdown table and writes JSON",
		Long: `bench starts dsr in-process (an embedded Temporal dev server, or the Temporal server at
--temporal-address, plus the worker and the HTTP API) and runs the scenarios against it.
Every figure that matters is a ratio against a baseline measured in the same run on the same
server. Results go to stdout as a Markdown table and to --out as results.json and results.md.
The stack keeps its state in a temporary directory unless --data-dir is given, and polls its
own task queue (dsr-bench), so other workers on a shared engine never take its requests.
The fanout scenario adds a worker and an API on a queue of their own whose only stores are
stub webhook services, so the demo company the other scenarios use is not touched.
Intake and verification rate limits are lifted: they would measure the limiter, not the
service.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, &f) },
	}
	config.Register(cmd.Flags(), config.ModeDev)
	fs := cmd.Flags()
	fs.StringVar(&f.scenarios, "scenarios", strings.Join(benchScenarioNames, ","), "scenarios to run, comma-separated: "+strings.Join(benchScenarioNames, ", "))
	fs.StringVar(&f.out, "out", "bench-results", "directory for results.json and results.md")
	fs.StringVar(&f.temporalAddress, "temporal-address", "", "Temporal frontend host:port to run on instead of the embedded dev server")
	fs.StringVar(&f.storeDatabaseURL, "store-database-url", "", "PostgreSQL where the stores scenario builds its stores; default --database-url when that is PostgreSQL")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the scenarios (the whole process: API, worker and embedded server) to this file")
	fs.BoolVar(&f.quick, "quick", false, "smoke-run sizes (seconds); explicit size flags still win")
	fs.IntVar(&f.concurrency, "concurrency", 32, "concurrent callers in the intake, e2e, fanout and parked scenarios")
	fs.IntVar(&f.intake, "intake-requests", 2000, "requests the intake scenario opens (and bare-engine workflows it starts)")
	fs.IntVar(&f.e2e, "e2e-requests", 500, "reviews and suppressions the e2e scenario runs to completed")
	fs.IntVar(&f.fanout, "fanout-requests", 500, "reviews and suppressions the fanout scenario runs to completed")
	fs.IntVar(&f.fanoutStores, "fanout-stores", 7, "webhook stores, all answering at once, each fanout request goes through")
	fs.StringVar(&f.cpuProcesses, "cpu-processes", "", "other processes whose CPU time per fanout request is reported beside the bench's own, as NAME=PID pairs, comma-separated (a process's direct children count with it), e.g. temporal=4906,postgres=812")
	fs.IntSliceVar(&f.storeSizes, "store-sizes", []int{10_000, 100_000, 1_000_000}, "people per store in the stores scenario")
	fs.IntVar(&f.storePeople, "store-people", 30, "people reviewed and suppressed per store size")
	fs.IntVar(&f.parked, "parked-requests", 10_000, "requests parked waiting for their code in the parked scenario")
	fs.IntVar(&f.dashboard, "dashboard-requests", 100_000, "request rows the dashboard scenario lists")
	return cmd
}

// applyQuick sets the smoke sizes on every size flag the command line did not set.
func applyQuick(fs *pflag.FlagSet) error {
	for name, v := range quickBenchSizes {
		if !fs.Changed(name) {
			if err := fs.Set(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func runBench(cmd *cobra.Command, f *benchFlags) error {
	ctx, fs := cmd.Context(), cmd.Flags()
	if f.quick {
		if err := applyQuick(fs); err != nil {
			return err
		}
	}
	names, err := parseScenarioNames(f.scenarios)
	if err != nil {
		return err
	}
	cfg, err := config.Load(fs, config.ModeDev, nil)
	if err != nil {
		return err
	}
	// Per-request info lines would bury the progress output.
	if !fs.Changed("log-level") {
		cfg.LogLevel = max(cfg.LogLevel, slog.LevelWarn)
	}
	log := newLogger(cmd.ErrOrStderr(), cfg)
	if !fs.Changed("data-dir") {
		dir, err := os.MkdirTemp("", "dsr-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	if !fs.Changed("http") {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	// On a shared engine, other workers poll dsr's usual queue with their own database and
	// mail; the harness's requests must reach its own worker only.
	if !fs.Changed("task-queue") {
		cfg.TaskQueue = benchTaskQueue + "-" + uuid.NewString()[:8]
	}
	if err := checkBenchPrerequisites(ctx, names, f, cfg); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, "starting the stack …")
	s, err := startBenchStack(ctx, cfg, log, f.temporalAddress)
	if err != nil {
		return err
	}
	defer s.stop()
	scenarios, err := benchScenarios(names, f, s)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := bench.Run(ctx, bench.DescribeMachine(s.engine, string(s.db.Kind)), scenarios, out)
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	if err := bench.WriteMarkdown(out, res); err != nil {
		return err
	}
	return writeBenchResults(f.out, res)
}

func parseScenarioNames(list string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(benchScenarioNames, n) {
			return nil, fmt.Errorf("--scenarios: unknown scenario %q (have %s)", n, strings.Join(benchScenarioNames, ", "))
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("--scenarios: name at least one scenario")
	}
	return names, nil
}

// checkBenchPrerequisites refuses a run that would fail after the stack started and the
// first scenarios ran: a scenario's missing database or bad flag, a server that does not
// answer, or an output file that cannot be written.
func checkBenchPrerequisites(ctx context.Context, names []string, f *benchFlags, cfg config.Config) error {
	var postgres []string
	if db, err := config.ParseDatabaseURL(cfg.DatabaseURL); err == nil && db.Kind == config.Postgres {
		postgres = append(postgres, cfg.DatabaseURL)
	}
	for _, name := range names {
		switch name {
		case "fanout":
			if f.fanoutStores < 1 {
				return errors.New("--fanout-stores: want at least one store")
			}
			if _, err := bench.ParseProcesses(f.cpuProcesses); err != nil {
				return fmt.Errorf("--cpu-processes: %w", err)
			}
		case "stores":
			url := storesDatabaseURL(f, cfg.DatabaseURL)
			if url == "" {
				return errors.New("the stores scenario builds its stores in PostgreSQL: set --store-database-url or a PostgreSQL --database-url")
			}
			if !slices.Contains(postgres, url) {
				postgres = append(postgres, url)
			}
		}
	}
	// Only PostgreSQL is reached here: opening a SQLite URL would create its file.
	for _, url := range postgres {
		db, err := database.Open(ctx, url)
		if err != nil {
			return fmt.Errorf("PostgreSQL for the benchmark: %w", err)
		}
		db.Close()
	}
	if f.temporalAddress != "" {
		conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", f.temporalAddress)
		if err != nil {
			return fmt.Errorf("--temporal-address: no Temporal server answers at %s: %w", f.temporalAddress, err)
		}
		conn.Close()
	}
	if err := writableDir(f.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if f.cpuProfile != "" {
		if err := writableDir(filepath.Dir(f.cpuProfile)); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	return nil
}

// storesDatabaseURL is where the stores scenario builds its stores: --store-database-url,
// else the stack's database when that is PostgreSQL, else none.
func storesDatabaseURL(f *benchFlags, databaseURL string) string {
	if f.storeDatabaseURL != "" {
		return f.storeDatabaseURL
	}
	if db, err := config.ParseDatabaseURL(databaseURL); err == nil && db.Kind == config.Postgres {
		return databaseURL
	}
	return ""
}

// writableDir makes dir if it is missing and proves a file can be written in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".dsr-bench-check-")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// benchScenarios builds the named scenarios against the stack.
func benchScenarios(names []string, f *benchFlags, s *benchStack) ([]bench.Scenario, error) {
	var out []bench.Scenario
	for _, name := range names {
		switch name {
		case "intake":
			out = append(out, bench.Intake(bench.IntakeOptions{Target: s.target, Requests: f.intake, Concurrency: f.concurrency}))
		case "e2e":
			out = append(out, bench.EndToEnd(bench.EndToEndOptions{Target: s.target, Requests: f.e2e, Concurrency: f.concurrency}))
		case "fanout":
			others, err := bench.ParseProcesses(f.cpuProcesses)
			if err != nil {
				return nil, fmt.Errorf("--cpu-processes: %w", err)
			}
			out = append(out, fanoutScenario(s, bench.FanoutOptions{Stores: f.fanoutStores, Requests: f.fanout, Concurrency: f.concurrency,
				Watch: append([]bench.Process{bench.SelfProcess}, others...)}))
		case "stores":
			out = append(out, bench.StoreGrowth(bench.StoreGrowthOptions{DatabaseURL: storesDatabaseURL(f, s.databaseURL), Sizes: f.storeSizes, People: f.storePeople}))
		case "parked":
			out = append(out, parkedScenario(s, bench.ParkedOptions{Requests: f.parked, Concurrency: f.concurrency}))
		case "dashboard":
			out = append(out, bench.Dashboard(bench.DashboardOptions{Target: s.target, DatabaseURL: s.databaseURL, Rows: f.dashboard}))
		default:
			return nil, fmt.Errorf("scenario %s is not available yet", name)
		}
	}
	return out, nil
}

func writeBenchResults(dir string, res bench.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for name, write := range map[string]func(*os.File) error{
		"results.json": func(f *os.File) error { return bench.WriteJSON(f, res) },
		"results.md":   func(f *os.File) error { return bench.WriteMarkdown(f, res) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// benchStack is dsr running in-process for the benchmarks, the way `dsr dev` runs it,
// optionally on an outside Temporal server.
type benchStack struct {
	target      bench.Target
	db          *database.DB
	databaseURL string
	engine      string
	closers     []func()
	// cfg, temporalAddress and log let a scenario start processes of its own on the stack.
	cfg             config.Config
	temporalAddress string
	log             *slog.Logger
	client          client.Client
}

func (s *benchStack) stop() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// benchRateLimits lift intake and verification limits far above any scenario's rate: the
// harness calls from one address for hundreds of requesters.
func benchRateLimits() api.RateLimits {
	lifted := api.Rate{Events: 1_000_000, Per: time.Second}
	return api.RateLimits{IntakePerIP: lifted, IntakePerAddress: lifted, VerifyPerIP: lifted, VerifyPerRequest: lifted}
}

func startBenchStack(ctx context.Context, cfg config.Config, log *slog.Logger, temporalAddress string) (_ *benchStack, err error) {
	s := &benchStack{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	ln, err := listen(cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { ln.Close() })
	if err := devDefaults(&cfg, ln.Addr().String()); err != nil {
		return nil, err
	}
	s.engine = "Temporal at " + temporalAddress
	shared := temporalAddress != ""
	if !shared {
		temporal, err := devengine.Start(devengine.Options{
			DataDir: cfg.DataDir, Namespace: cfg.Temporal.Namespace,
			Log: log.With("component", "temporal-server"), LogLevel: embeddedServerLogLevel(cfg.LogLevel),
		})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, temporal.Stop)
		temporalAddress, s.engine = temporal.Address, "embedded dev server (SQLite)"
	}
	c, err := engine.Dial(ctx, config.Temporal{Address: temporalAddress, Namespace: cfg.Temporal.Namespace}, log, codec.DataConverter(cfg.Codec))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, c.Close)
	if err := engine.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace, workflows.SearchAttributes); err != nil {
		return nil, err
	}
	if s.db, err = database.OpenMigrated(ctx, cfg.DatabaseURL, log); err != nil {
		return nil, err
	}
	s.databaseURL = cfg.DatabaseURL
	s.closers = append(s.closers, func() { s.db.Close() })
	stopWorker, err := startInProcessWorker(ctx, c, s.db, cfg)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, stopWorker)
	adminToken, err := benchAdminToken(ctx, s)
	if err != nil {
		return nil, err
	}
	stopAPI, err := serveBenchAPI(ctx, log, c, s.db, cfg, ln, "bench API")
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, stopAPI)
	s.cfg, s.temporalAddress, s.log, s.client = cfg, temporalAddress, log, c
	s.target = bench.Target{
		BaseURL: "http://" + ln.Addr().String(), AdminToken: adminToken, Temporal: c, HTTP: bench.NewHTTPClient(256),
		Shared: shared,
	}
	return s, waitBenchReady(ctx, s.target.BaseURL)
}

// startInProcessWorker opens cfg's stores and polls cfg's task queue in this process; the
// returned func stops the worker, then closes the stores.
func startInProcessWorker(ctx context.Context, c client.Client, db *database.DB, cfg config.Config) (stop func(), err error) {
	acts, closeStores, err := newActivities(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	w, err := startWorker(c, acts, cfg)
	if err != nil {
		closeStores()
		return nil, err
	}
	return func() { w.Stop(); closeStores() }, nil
}

// serveBenchAPI serves cfg's API on ln, with the dev mailbox and the rate limits lifted,
// until the returned func is called; name labels its failure in the log. ln is closed on
// an error too.
func serveBenchAPI(ctx context.Context, log *slog.Logger, c client.Client, db *database.DB, cfg config.Config, ln net.Listener, name string) (stop func(), err error) {
	opts, err := apiOptions(log, c, db, cfg, requestdb.NewDevMailbox(db))
	if err != nil {
		ln.Close()
		return nil, err
	}
	opts.RateLimits = benchRateLimits()
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- api.New(opts).Serve(serveCtx, ln, cfg.ShutdownTimeout) }()
	return func() {
		stopServing()
		if err := <-served; err != nil {
			log.Error(name+" stopped", "error", err)
		}
	}, nil
}

// benchAdminToken makes the harness's admin token and revokes it when the stack stops, so a
// run against a shared database leaves no live credential behind.
func benchAdminToken(ctx context.Context, s *benchStack) (string, error) {
	tokens := auth.New(s.db)
	token, t, err := tokens.Create(ctx, "bench-admin-"+strconv.FormatInt(time.Now().Unix(), 10), auth.RoleAdmin)
	if err != nil {
		return "", err
	}
	s.closers = append(s.closers, func() {
		if err := tokens.Revoke(context.Background(), t.ID); err != nil {
			fmt.Fprintln(os.Stderr, "dsr bench: revoke the harness's admin token:", err)
		}
	})
	return token, nil
}

// waitBenchReady polls /readyz until the API, the engine and the worker all answer.
func waitBenchReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(2 * time.Minute)
	last := "no answer"
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the bench stack never became ready: /readyz %s", last)
}
