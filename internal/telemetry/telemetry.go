// Package telemetry gives each dsr process its Prometheus metrics, served on their own
// address, and OpenTelemetry tracing across the API, the workflows, the activities and the
// store calls. Tracing is off unless an OTLP endpoint is configured. No label and no span
// attribute ever carries personal data: only request types, statuses, store names and route
// templates.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options say what one process measures and where it sends traces.
type Options struct {
	// Service names the process in traces: dsr-dev, dsr-api or dsr-worker.
	Service string
	// SpanExporter receives finished spans. nil exports by OTLP/gRPC when the standard
	// OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) variable is set, and otherwise
	// records no spans at all.
	SpanExporter sdktrace.SpanExporter
	Log          *slog.Logger
}

// Telemetry is one process's metrics registry and tracer.
type Telemetry struct {
	// Registry holds every metric the process exposes.
	Registry *prometheus.Registry
	log      *slog.Logger
	tracer   trace.Tracer
	// spans is nil when tracing is off.
	spans  *sdktrace.TracerProvider
	meters *sdkmetric.MeterProvider
	own    *ownMetrics
}

// New builds the registry, the Temporal SDK's meter and, when configured, the tracer.
func New(ctx context.Context, opts Options) (*Telemetry, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	t := &Telemetry{Registry: reg, log: opts.Log, own: newOwnMetrics()}
	if err := t.own.register(reg); err != nil {
		return nil, err
	}
	// The SDK reports through OpenTelemetry; this exporter turns its instruments into
	// Prometheus metrics in the same registry, without the OTel scope labels.
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	if err := t.startTracing(ctx, opts); err != nil {
		return nil, err
	}
	if t.spans == nil {
		t.tracer = noop.NewTracerProvider().Tracer(instrumentationName)
	}
	return t, nil
}

// ReportRequests reports the request gauges, read through counter at scrape time. The API
// processes take them; the workers need not.
func (t *Telemetry) ReportRequests(counter RequestCounter) error {
	if err := t.Registry.Register(newRequestCollector(counter, t.log, t.own.queryErrors)); err != nil {
		return fmt.Errorf("register request gauges: %w", err)
	}
	return nil
}

// instrumentationName names dsr's own spans and instruments.
const instrumentationName = "github.com/dsr-project/dsr"

// Tracing reports whether spans are recorded and exported.
func (t *Telemetry) Tracing() bool { return t.spans != nil }

// Flush exports the spans buffered so far.
func (t *Telemetry) Flush(ctx context.Context) error {
	if t.spans == nil {
		return nil
	}
	return t.spans.ForceFlush(ctx)
}

// Shutdown exports the spans still buffered and stops the meter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.spans != nil {
		errs = append(errs, t.spans.Shutdown(ctx))
	}
	errs = append(errs, t.meters.Shutdown(ctx))
	return errors.Join(errs...)
}

// Handler serves the registry in the Prometheus text format.
func (t *Telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry, Timeout: 10 * time.Second})
}

// MetricsPath is where the metrics server answers.
const MetricsPath = "/metrics"

// Serve answers GET /metrics on ln until ctx ends. It is a server of its own, apart from
// the API, so that the metrics port can stay inside the cluster network.
func (t *Telemetry) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, t.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
