package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/telemetry"
)

// connectServing is connect for the long-running api and worker processes: it also starts
// their telemetry (request gauges on the API) and dials Temporal with its metrics and
// interceptors. Stop the telemetry last, so that it exports the last spans.
func connectServing(cmd *cobra.Command, mode config.Mode) (cfg config.Config, log *slog.Logger, db *database.DB, c client.Client, tel *telemetry.Telemetry, err error) {
	ctx := cmd.Context()
	if cfg, log, err = loadConfig(cmd, mode); err != nil {
		return
	}
	if db, err = openCurrentDatabase(ctx, cfg.DatabaseURL); err != nil {
		return
	}
	if tel, err = startTelemetry(ctx, cfg, log, "dsr-"+string(mode)); err != nil {
		db.Close()
		return
	}
	dialOpts, err := tel.DialOptions()
	if err == nil && mode == config.ModeAPI {
		err = tel.ReportRequests(requestdb.New(db))
	}
	if err == nil {
		c, err = engine.Dial(ctx, cfg.Temporal, log, codec.DataConverter(cfg.Codec), dialOpts...)
	}
	if err != nil {
		stopTelemetry(tel, log)
		db.Close()
	}
	return
}

// startTelemetry builds the process's metrics and tracing and serves /metrics on the
// metrics address until ctx ends. The default address, when taken (several dsr processes
// on one host), only warns; an address chosen in the settings must be free.
func startTelemetry(ctx context.Context, cfg config.Config, log *slog.Logger, service string) (*telemetry.Telemetry, error) {
	tel, err := telemetry.New(ctx, telemetry.Options{Service: service, Log: log})
	if err != nil {
		return nil, err
	}
	if tel.Tracing() {
		log.Info("exporting traces by OTLP")
	}
	if cfg.MetricsAddr == "" {
		return tel, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		if cfg.MetricsAddrDefault {
			log.Warn("metrics port taken; this process serves no metrics (set DSR_METRICS_ADDR)", "addr", cfg.MetricsAddr)
			return tel, nil
		}
		stopTelemetry(tel, log)
		return nil, fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", telemetry.MetricsPath)
	go func() {
		if err := tel.Serve(ctx, ln); err != nil {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	return tel, nil
}

// stopTelemetry exports the spans still buffered.
func stopTelemetry(tel *telemetry.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "error", err)
	}
}

// instrumentActivities times and traces every store call, counts mail failures and counts
// the status changes the activities store. A wrapped store's capabilities are wrapped too,
// so identity checks and purges count.
func instrumentActivities(acts *activities.Activities, tel *telemetry.Telemetry) {
	acts.Steps = tel
	for i, s := range acts.Stores {
		acts.Stores[i] = tel.Store(s)
	}
	acts.Mail = tel.Mail(acts.Mail)
}
