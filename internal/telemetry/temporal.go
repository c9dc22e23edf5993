package telemetry

import (
	"fmt"

	"github.com/dsr-project/dsr/internal/engine"

	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// TemporalMetrics is the SDK's metrics handler: its workflow, activity and request metrics
// land in the process's registry (temporal_request, temporal_workflow_task_execution_latency…).
func (t *Telemetry) TemporalMetrics() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: t.meters.Meter("temporal-sdk-go"),
		// A meter error must never take the worker down; the metric is then only missing.
		OnError: func(err error) { t.log.Warn("temporal sdk metric", "error", err) },
	})
}

// TemporalInterceptors are the client's (and so its workers') interceptors: tracing, when it
// is on; none otherwise.
func (t *Telemetry) TemporalInterceptors() ([]interceptor.ClientInterceptor, error) {
	var out []interceptor.ClientInterceptor
	if t.spans != nil {
		tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
			Tracer: t.spans.Tracer("temporal-sdk-go"), TextMapPropagator: propagator,
			// Signals and queries carry no personal data in their names, but staff poll
			// queries often; tracing them only adds noise.
			DisableQueryTracing: true,
		})
		if err != nil {
			return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
		}
		out = append(out, tracing)
	}
	return out, nil
}

// DialOptions give a Temporal client the SDK metrics and the interceptors.
func (t *Telemetry) DialOptions() ([]engine.DialOption, error) {
	is, err := t.TemporalInterceptors()
	if err != nil {
		return nil, err
	}
	return []engine.DialOption{engine.WithMetrics(t.TemporalMetrics()), engine.WithInterceptors(is...)}, nil
}
