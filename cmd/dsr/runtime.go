package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/manual"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/discover"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

// loadConfig reads the settings of mode from the command's flags and the environment.
func loadConfig(cmd *cobra.Command, mode config.Mode) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(cmd.Flags(), mode, nil)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, newLogger(cmd.ErrOrStderr(), cfg), nil
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openCurrentDatabase opens the database and refuses one whose schema is older than this
// binary, so production processes never run against a half-migrated schema.
func openCurrentDatabase(ctx context.Context, url string) (*database.DB, error) {
	db, err := database.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	pending, err := database.Pending(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(pending) > 0 {
		db.Close()
		return nil, fmt.Errorf("database schema lacks migrations %v: run `dsr migrate` first", pending)
	}
	return db, nil
}

// workerIdentity names this process in Temporal and in records: host and PID, never PII.
func workerIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}

// newActivities gathers what the activities need: the request repository, a mail sender
// (SMTP, or the dev mailbox in dev when no SMTP server is set) and the stores to fan out to.
// close releases the stores.
func newActivities(ctx context.Context, cfg config.Config, db *database.DB) (acts *activities.Activities, close func(), err error) {
	tl, err := tlog.New(db, cfg.Secret, tlog.Origin(cfg.PublicURL))
	if err != nil {
		return nil, nil, err
	}
	acts = &activities.Activities{
		Requests: requestdb.New(db).WithResultKeys(cfg.Codec).WithLog(tl), Secret: cfg.Secret, Links: links.Builder{Base: cfg.PublicURL, Secret: cfg.Secret, ReportTTL: cfg.ReportLinkTTL},
		Organization: cfg.Organization, TeamEmail: cfg.TeamEmail, Worker: workerIdentity(), Jurisdictions: cfg.Jurisdictions,
	}
	brand := mail.Brand{Organization: cfg.Organization, PrivacyPolicyURL: cfg.PrivacyPolicyURL, AccentColor: cfg.AccentColor}
	if cfg.LogoFile != "" {
		brand.LogoURL = acts.Links.Logo()
	}
	if acts.Notices, err = mail.NewTemplates(i18n.Default(), brand, cfg.NoticeTemplates); err != nil {
		return nil, nil, err
	}
	// Results kept in clear by an older release are sealed before any new one is read.
	if _, err := acts.Requests.SealStoreResults(ctx); err != nil {
		return nil, nil, err
	}
	if cfg.SMTP.Host != "" {
		sender, err := mail.NewSMTPSender(cfg.SMTP)
		if err != nil {
			return nil, nil, fmt.Errorf("smtp: %w", err)
		}
		acts.Mail = sender
	} else {
		acts.Mail = requestdb.NewDevMailbox(db)
	}
	stores, recipients, closeStores, err := openStores(ctx, cfg, acts.Requests)
	if err != nil {
		return nil, nil, err
	}
	acts.Stores, acts.Recipients, acts.LookupEnv = stores, recipients, demoLookupEnv(cfg)
	close = closeStores
	named, err := requesterDataMaps(cfg)
	if err != nil {
		close()
		return nil, nil, err
	}
	acts.OutcomeLabels = requests.NewOutcomeLabels(named).Outcome
	return acts, close, nil
}

// hasSQLStore says a map has a store the data map scan can read.
func hasSQLStore(maps []*datamap.Map) bool {
	for _, m := range maps {
		for _, s := range m.Stores {
			if s.Kind == datamap.KindSQL {
				return true
			}
		}
	}
	return false
}

// requesterDataMaps are the maps whose labels name data to requesters, in the order the
// API's report reads them: the demo company's when it runs, then the configured one.
func requesterDataMaps(cfg config.Config) ([]*datamap.Map, error) {
	var out []*datamap.Map
	if demoEnabled(cfg) {
		m, err := demo.DataMap()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if cfg.DataMap != "" {
		m, err := datamap.Load(cfg.DataMap)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// openStores opens the stores of the data map (SQL, webhook and manual) and, when set, the
// demo company's stores (seeded with demo people and described by its own embedded data
// map), through the same generic connectors.
func openStores(ctx context.Context, cfg config.Config, tasks *requestdb.Repo) (conns []connector.Connector, recipients map[string][]datamap.Recipient, close func(), err error) {
	var closers []func()
	recipients = map[string][]datamap.Recipient{}
	close = func() {
		for _, c := range closers {
			c()
		}
	}
	opts := []sqlstore.Option{sqlstore.WithHashKey(cfg.Secret.Derive("data-map-hash")), sqlstore.WithSealing(cfg.Codec)}
	if cfg.DataMap != "" {
		m, err := datamap.Load(cfg.DataMap)
		if err != nil {
			return nil, nil, nil, err
		}
		if demoEnabled(cfg) {
			demoMap, err := demo.DataMap()
			if err != nil {
				return nil, nil, nil, err
			}
			if err := distinctStores(demoMap, m); err != nil {
				return nil, nil, nil, err
			}
		}
		// OpenAll checks every sql store against its database, so a typo stops start-up.
		all, closeAll, err := sqlstore.OpenAll(ctx, m, opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		conns, closers = append(conns, all...), append(closers, func() { closeAll() })
		for _, s := range m.Stores {
			recipients[s.Name] = s.Recipients
			if s.Kind == datamap.KindManual {
				conns = append(conns, manual.New(s, tasks))
			}
		}
		hooks, err := webhookStores(m, cfg)
		if err != nil {
			close()
			return nil, nil, nil, err
		}
		for _, h := range hooks {
			conns = append(conns, h)
		}
	}
	if demoEnabled(cfg) {
		demoConns, demoRecipients, closeDemo, err := openDemoStores(ctx, cfg, tasks, opts)
		if err != nil {
			close()
			return nil, nil, nil, fmt.Errorf("demo stores: %w", err)
		}
		conns, closers = append(conns, demoConns...), append(closers, closeDemo)
		maps.Copy(recipients, demoRecipients)
	}
	return conns, recipients, close, nil
}

// distinctStores refuses two stores of one name across the maps a worker runs, such as a
// data map's store beside a demo store in dev: results, tasks and callbacks are keyed by
// store name, so one store would answer for the other. Each map refuses its own repeats.
func distinctStores(all ...*datamap.Map) error {
	first := map[string]*datamap.Map{}
	var problems datamap.Errors
	for _, m := range all {
		for _, s := range m.Stores {
			if other, taken := first[s.Name]; taken {
				problems = append(problems, datamap.Problem{File: m.File, Line: s.Line,
					Message: fmt.Sprintf("store %q has the name of a store in %s; give it another name", s.Name, other.File)})
				continue
			}
			first[s.Name] = m
		}
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// callbackURL is where services that answer later post their signed results.
func callbackURL(publicURL string) func(requestID string) string {
	return func(requestID string) string { return publicURL + "/api/v1/callbacks/" + requestID }
}

// startWorker registers every workflow and activity and starts polling. Stopping it waits
// up to the shutdown timeout for running activities to finish.
func startWorker(c client.Client, acts *activities.Activities, cfg config.Config) (worker.Worker, error) {
	if cfg.WorkerCacheSize > 0 {
		// The cache is per process and sized once, before the first worker starts.
		worker.SetStickyWorkflowCacheSize(cfg.WorkerCacheSize)
	}
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		Identity:          workerIdentity(),
		WorkerStopTimeout: cfg.ShutdownTimeout,
	})
	w.RegisterWorkflow(workflows.SelfCheck)
	w.RegisterWorkflow(workflows.Request)
	w.RegisterWorkflow(workflows.RetentionPurge)
	w.RegisterWorkflow(workflows.Appeal)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// readinessChecks are what /readyz reports on: the database, the engine, and a worker
// unless an api is told not to wait for one.
func readinessChecks(c client.Client, db *database.DB, cfg config.Config) []api.Check {
	checks := []api.Check{
		{Name: "database", Run: db.Ping},
		{Name: "temporal", Run: func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err != nil {
				return fmt.Errorf("temporal unreachable: %w", err)
			}
			return nil
		}},
	}
	if cfg.Mode == config.ModeAPI && !cfg.ReadyNeedsWorker {
		return checks
	}
	return append(checks, api.Check{Name: "worker", Run: func(ctx context.Context) error {
		return engine.CheckWorkersPolling(ctx, c, cfg.TaskQueue)
	}})
}

// servedLog is the transparency log a serving process answers for, asking the configured
// witnesses to cosign its checkpoints (see tlog.Log.RunWitnessing).
func servedLog(db *database.DB, cfg config.Config) (*tlog.Log, error) {
	tl, err := tlog.New(db, cfg.Secret, tlog.Origin(cfg.PublicURL))
	if err != nil || len(cfg.LogWitnesses) == 0 {
		return tl, err
	}
	ws := make([]tlog.WitnessEndpoint, len(cfg.LogWitnesses))
	for i, w := range cfg.LogWitnesses {
		ws[i] = tlog.WitnessEndpoint{VerifierKey: w.VerifierKey, URL: w.URL}
	}
	return tl.WithWitnesses(ws, nil)
}

// apiOptions are the HTTP server's dependencies; devMailbox is set only in dev. The data
// map's webhook stores give the keys their callbacks are signed with.
func apiOptions(log *slog.Logger, c client.Client, db *database.DB, cfg config.Config, devMailbox *requestdb.DevMailbox) (api.Options, error) {
	verification := workflows.DefaultVerificationSettings()
	verification.CodeLife = cfg.CodeLife
	tl, err := servedLog(db, cfg)
	if err != nil {
		return api.Options{}, err
	}
	opts := api.Options{
		TransparencyLog: tl, Log: log, Checks: readinessChecks(c, db, cfg), Temporal: c, TaskQueue: cfg.TaskQueue,
		Requests: requestdb.New(db).WithResultKeys(cfg.Codec).WithLog(tl), Tokens: auth.New(db), Secret: cfg.Secret, DevMailbox: devMailbox,
		Identity: cfg.Identity, Deadline: cfg.Deadline, Verification: verification, Jurisdictions: cfg.Jurisdictions,
		EvidenceSigner: cfg.SigningKey, CodecOrigins: cfg.CodecOrigins,
		Sessions: auth.NewSessions(db), TrustedProxies: cfg.TrustedProxies,
		TemporalUIURL: cfg.TemporalUIURL, TemporalNamespace: cfg.Temporal.Namespace,
		Brand: api.Brand{Organization: cfg.Organization, PrivacyPolicyURL: cfg.PrivacyPolicyURL, LogoFile: cfg.LogoFile, AccentColor: cfg.AccentColor},
		// Behind TLS the dashboard's session cookie must never travel in clear.
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"),
	}
	if cfg.Codec != nil {
		opts.PayloadCodec = codec.New(cfg.Codec)
	}
	scanned, err := discoverMaps(cfg.DataMap, cfg.DemoStore)
	if err != nil {
		return opts, err
	}
	if hasSQLStore(scanned) {
		opts.DataMapScanner = discover.Scanner{Maps: scanned, Options: discover.Options{LookupEnv: demoLookupEnv(cfg)}}
	}
	if opts.DRP, err = drpOptions(cfg); err != nil {
		return opts, err
	}
	hooks, err := demoCallbackHooks(cfg)
	if err != nil {
		return opts, err
	}
	if demoEnabled(cfg) {
		m, err := demo.DataMap()
		if err != nil {
			return opts, err
		}
		opts.DataMaps = append(opts.DataMaps, m)
	}
	if cfg.DataMap != "" {
		m, err := datamap.Load(cfg.DataMap)
		if err != nil {
			return opts, err
		}
		opts.DataMaps = append(opts.DataMaps, m)
		mapHooks, err := webhookStores(m, cfg)
		if err != nil {
			return opts, err
		}
		hooks = append(hooks, mapHooks...)
	}
	if len(hooks) == 0 {
		return opts, nil
	}
	opts.CallbackKeys, opts.CallbackStores = webhook.CallbackKeys(hooks...), map[string]string{}
	for _, h := range hooks {
		opts.CallbackStores[h.Name()] = h.KeyID()
	}
	return opts, nil
}

// webhookStores builds the connectors of the map's http stores.
func webhookStores(m *datamap.Map, cfg config.Config) ([]*webhook.Connector, error) {
	var out []*webhook.Connector
	for _, s := range m.Stores {
		if s.Kind != datamap.KindHTTP {
			continue
		}
		c, err := webhook.FromDataMap(s, os.LookupEnv, callbackURL(cfg.PublicURL))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// connect opens what both production processes need: the current database and Temporal.
func connect(cmd *cobra.Command, mode config.Mode) (cfg config.Config, log *slog.Logger, db *database.DB, c client.Client, err error) {
	ctx := cmd.Context()
	if cfg, log, err = loadConfig(cmd, mode); err != nil {
		return
	}
	if db, err = openCurrentDatabase(ctx, cfg.DatabaseURL); err != nil {
		return
	}
	if c, err = engine.Dial(ctx, cfg.Temporal, log, codec.DataConverter(cfg.Codec)); err != nil {
		db.Close()
	}
	return
}

// listen opens the HTTP listener early so a taken port fails start-up, not later.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// runSelfCheck starts a self-check workflow and waits for it.
func runSelfCheck(ctx context.Context, c client.Client, cfg config.Config, checkID string) (workflows.SelfCheckResult, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.SelfCheckID(checkID),
		TaskQueue:                cfg.TaskQueue,
		WorkflowExecutionTimeout: time.Minute,
	}, workflows.SelfCheck, workflows.SelfCheckInput{CheckID: checkID})
	if err != nil {
		return workflows.SelfCheckResult{}, fmt.Errorf("start self-check: %w", err)
	}
	var out workflows.SelfCheckResult
	if err := run.Get(ctx, &out); err != nil {
		return workflows.SelfCheckResult{}, fmt.Errorf("self-check: %w", err)
	}
	return out, nil
}
