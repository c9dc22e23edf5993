package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

func apiCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API and web pages against a Temporal cluster and PostgreSQL",
		Long:  "api serves the HTTP API and web pages. Run as many as you need behind a load balancer; they share nothing but the database and Temporal.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, db, c, tel, err := connectServing(cmd, config.ModeAPI)
			if err != nil {
				return err
			}
			defer stopTelemetry(tel, log)
			defer db.Close()
			defer c.Close()
			ln, err := listen(cfg.HTTPAddr)
			if err != nil {
				return err
			}
			log.Info("api listening", "addr", ln.Addr().String(), "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
			opts, err := apiOptions(log, c, db, cfg, nil)
			if err != nil {
				return err
			}
			opts.Middleware = tel.HTTPMiddleware()
			go opts.TransparencyLog.RunWitnessing(cmd.Context(), tlog.WitnessInterval, log)
			return api.New(opts).Serve(cmd.Context(), ln, cfg.ShutdownTimeout)
		},
	}
	config.Register(cmd.Flags(), config.ModeAPI)
	return cmd
}

func workerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run workflows and activities against a Temporal cluster and PostgreSQL",
		Long:  "worker polls the task queue and runs dsr's workflows and activities. Run as many as the load needs; on SIGTERM a worker stops polling and lets running activities finish.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, log, db, c, tel, err := connectServing(cmd, config.ModeWorker)
			if err != nil {
				return err
			}
			defer stopTelemetry(tel, log)
			defer db.Close()
			defer c.Close()
			// Registering needs operator rights that Temporal Cloud keys may lack; there the
			// attributes are created once in the console, so a refusal is only a warning.
			if err := engine.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace, workflows.SearchAttributes); err != nil {
				log.Warn("could not register search attributes; create them in the namespace", "error", err)
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
			if err := startDRPWork(ctx, cfg, db, c, log); err != nil {
				w.Stop()
				return err
			}
			log.Info("worker polling", "task_queue", cfg.TaskQueue, "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
			<-ctx.Done()
			log.Info("stopping: waiting for running activities", "timeout", cfg.ShutdownTimeout)
			w.Stop()
			return nil
		},
	}
	config.Register(cmd.Flags(), config.ModeWorker)
	return cmd
}

func migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (PostgreSQL or SQLite)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, log, err := loadConfig(cmd, config.ModeMigrate)
			if err != nil {
				return err
			}
			db, err := database.OpenMigrated(ctx, cfg.DatabaseURL, log)
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "%s database is up to date\n", db.Kind)
			return nil
		},
	}
	config.Register(cmd.Flags(), config.ModeMigrate)
	return cmd
}
