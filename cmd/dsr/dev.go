package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/devengine"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

func devCommand() *cobra.Command {
	var pprofAddr string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded Temporal with its Web UI, SQLite, worker and API",
		Long: `dev runs the whole service in one process with no outside services: an embedded
Temporal server and an embedded SQLite database, both kept in the data directory so that
state survives a restart, plus the worker and the HTTP API. Set DATABASE_URL to use
PostgreSQL instead of SQLite. Ctrl-C stops it cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd, pprofAddr) },
	}
	config.Register(cmd.Flags(), config.ModeDev)
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's profiles of the whole process (API, worker, embedded server) on this loopback address, e.g. 127.0.0.1:6060; off when empty")
	return cmd
}

func runDev(cmd *cobra.Command, pprofAddr string) error {
	ctx := cmd.Context()
	cfg, log, err := loadConfig(cmd, config.ModeDev)
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		if pprofAddr, err = servePprof(ctx, pprofAddr); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	ln, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := devDefaults(&cfg, ln.Addr().String()); err != nil {
		return err
	}

	temporal, err := devengine.Start(devengine.Options{
		DataDir:   cfg.DataDir,
		Port:      cfg.TemporalPort,
		UIPort:    cfg.UIPort,
		Namespace: cfg.Temporal.Namespace,
		Log:       log.With("component", "temporal-server"),
		LogLevel:  embeddedServerLogLevel(cfg.LogLevel),
		// The Web UI shows staff decoded payloads through dsr's codec endpoint.
		UICodecEndpoint: "http://" + ln.Addr().String() + "/codec",
	})
	if err != nil {
		return err
	}
	defer temporal.Stop()
	tel, err := startTelemetry(ctx, cfg, log, "dsr-dev")
	if err != nil {
		return err
	}
	defer stopTelemetry(tel, log)
	dialOpts, err := tel.DialOptions()
	if err != nil {
		return err
	}
	c, err := engine.Dial(ctx, config.Temporal{Address: temporal.Address, Namespace: cfg.Temporal.Namespace}, log, codec.DataConverter(cfg.Codec), dialOpts...)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := engine.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace, workflows.SearchAttributes); err != nil {
		return err
	}

	db, err := database.OpenMigrated(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := tel.ReportRequests(requestdb.New(db)); err != nil {
		return err
	}

	acts, closeStores, err := newActivities(ctx, cfg, db)
	if err != nil {
		return err
	}
	defer closeStores()
	instrumentActivities(acts, tel)
	w, err := startWorker(c, acts, cfg)
	if err != nil {
		return err
	}
	defer w.Stop()
	if err := startDRPWork(ctx, cfg, db, c, log); err != nil {
		return err
	}

	adminToken, err := devAdminToken(ctx, db)
	if err != nil {
		return err
	}
	opts, err := apiOptions(log, c, db, cfg, requestdb.NewDevMailbox(db))
	if err != nil {
		return err
	}
	opts.Middleware = tel.HTTPMiddleware()
	// The embedded Web UI has no login, so dev lets it decode payloads from loopback.
	opts.CodecTrustedOrigin, opts.TemporalUIURL = temporal.UIURL, temporal.UIURL
	go opts.TransparencyLog.RunWitnessing(ctx, tlog.WitnessInterval, log)
	server := api.New(opts)
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, cfg.ShutdownTimeout) }()

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "dsr dev is running (data in %s, database %s)\n", cfg.DataDir, db.Kind)
	fmt.Fprintf(out, "  API and web pages  http://%s\n", ln.Addr())
	fmt.Fprintf(out, "  Temporal gRPC      %s (namespace %s)\n", temporal.Address, cfg.Temporal.Namespace)
	if temporal.UIURL != "" {
		fmt.Fprintf(out, "  Temporal Web UI    %s\n", temporal.UIURL)
	}
	fmt.Fprintf(out, "  Dev mailbox        http://%s/dev/mail\n", ln.Addr())
	fmt.Fprintf(out, "  Dev admin token    %s\n", adminToken)
	if pprofAddr != "" {
		fmt.Fprintf(out, "  Go profiles        http://%s/debug/pprof/\n", pprofAddr)
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")

	go selfCheckAtStart(ctx, cfg, log, func(ctx context.Context, id string) (workflows.SelfCheckResult, error) {
		return runSelfCheck(ctx, c, cfg, id)
	})

	err = <-served
	log.Info("stopping: waiting for running activities", "timeout", cfg.ShutdownTimeout)
	return err
}

// embeddedServerLogLevel shows the embedded server's warnings only when debugging: at its
// warn level it reports routine events, such as its services losing each other on shutdown.
func embeddedServerLogLevel(ours slog.Level) slog.Level {
	if ours <= slog.LevelDebug {
		return slog.LevelWarn
	}
	return slog.LevelError
}

// devAdminTokenName names the admin token dev makes at each start; the one from the
// previous start is revoked, since only its hash was kept.
const devAdminTokenName = "dev-admin"

func devAdminToken(ctx context.Context, db *database.DB) (string, error) {
	tokens := auth.New(db)
	existing, err := tokens.List(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range existing {
		if t.Name == devAdminTokenName && !t.Revoked() {
			if err := tokens.Revoke(ctx, t.ID); err != nil {
				return "", err
			}
		}
	}
	token, _, err := tokens.Create(ctx, devAdminTokenName, auth.RoleAdmin)
	return token, err
}

// devDefaults fills what dev keeps in its data directory or derives from its address: the
// application and demo databases, the server secret, and the public URL.
func devDefaults(cfg *config.Config, httpAddr string) error {
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "dsr.db")
	}
	if cfg.DemoStore == "" {
		// One SQLite file per demo store, seeded on first use.
		cfg.DemoStore = "sqlite:" + filepath.Join(cfg.DataDir, "demo")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + httpAddr
	}
	if cfg.Secret == nil {
		secret, err := keys.LoadOrCreate(filepath.Join(cfg.DataDir, "secret.key"))
		if err != nil {
			return err
		}
		cfg.Secret = secret
	}
	if cfg.Codec == nil {
		ring, err := devCodec(cfg.Secret)
		if err != nil {
			return err
		}
		cfg.Codec = ring
	}
	return nil
}

// devCodec is the key ring `dsr dev` seals payloads, results and plans with, derived from
// its secret so that the tools reading its data directory derive the same.
func devCodec(secret keys.Secret) (*codec.Keyring, error) {
	ring := &codec.Keyring{}
	return ring, ring.Add("dev", secret.Derive("payload-codec"))
}

// selfCheckAtStart runs one self-check so a broken wiring shows in the first seconds, and so
// every start leaves a workflow behind that proves the engine's state survives restarts.
func selfCheckAtStart(ctx context.Context, cfg config.Config, log *slog.Logger, check func(context.Context, string) (workflows.SelfCheckResult, error)) {
	id := uuid.NewString()
	res, err := check(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("self-check failed", "workflow_id", workflows.SelfCheckID(id), "error", err)
		}
		return
	}
	log.Info("self-check passed", "workflow_id", workflows.SelfCheckID(id), "worker", res.Worker)
}
