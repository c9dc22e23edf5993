package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// propagator carries trace context in W3C traceparent headers, into the API and through
// Temporal's headers; it is the one the SDK's tracing interceptor uses by default.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// OTLPConfigured reports whether the standard OpenTelemetry variables name a collector.
func OTLPConfigured() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// startTracing sets up the tracer provider when there is somewhere to send spans. The
// exporter reads the rest of its settings (headers, TLS, timeout) from the OTEL_* variables.
func (t *Telemetry) startTracing(ctx context.Context, opts Options) error {
	exporter := opts.SpanExporter
	if exporter == nil && OTLPConfigured() {
		e, err := otlptracegrpc.New(ctx)
		if err != nil {
			return fmt.Errorf("otlp trace exporter: %w", err)
		}
		exporter = e
	}
	if exporter == nil {
		return nil
	}
	service := opts.Service
	if service == "" {
		service = "dsr"
	}
	t.spans = sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	)
	t.tracer = t.spans.Tracer(instrumentationName)
	return nil
}

// HTTPMiddleware measures and traces every request. Metrics and span names use the route
// template (/api/v1/requests/:id), never the raw path, so no request ID or token ends up in
// a label; unmatched paths share one label.
func (t *Telemetry) HTTPMiddleware() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{t.traceHTTP, t.own.http, handleErrorsHere}
}

// handleErrorsHere lets Echo's error handler write the response inside the middleware, so
// that the metrics and the span see the status the client gets (a not-found error becomes a
// 404 only there).
func handleErrorsHere(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}

func (t *Telemetry) traceHTTP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		route := routeOf(c)
		if t.spans == nil || probes[route] {
			return next(c)
		}
		req := c.Request()
		ctx := propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		ctx, span := t.tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", route)))
		defer span.End()
		c.SetRequest(req.WithContext(ctx))
		err := next(c)
		status := c.Response().Status
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		return err
	}
}

// probes are asked every few seconds by load balancers and Kubernetes; tracing them would
// bury the traces that matter.
var probes = map[string]bool{"/healthz": true, "/readyz": true}

// unmatchedRoute labels requests no route matched.
const unmatchedRoute = "unmatched"

func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return unmatchedRoute
}
