// Package engine connects dsr to its Temporal workflow engine: dialing with TLS or an API
// key, registering dsr's search attributes, and telling whether workers are polling.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"

	"github.com/dsr-project/dsr/internal/config"
)

// DialOption adds to the client's options, such as its metrics and interceptors.
type DialOption func(*client.Options)

// WithMetrics reports the SDK's metrics (requests, workflow and activity tasks) to h.
func WithMetrics(h client.MetricsHandler) DialOption {
	return func(o *client.Options) { o.MetricsHandler = h }
}

// WithInterceptors adds interceptors to the client; those that are also worker
// interceptors, such as the tracing one, apply to the workers it runs as well.
func WithInterceptors(is ...interceptor.ClientInterceptor) DialOption {
	return func(o *client.Options) { o.Interceptors = append(o.Interceptors, is...) }
}

// Dial connects to the Temporal frontend described by cfg. dc converts payloads; pass the
// codec's converter so nothing reaches the engine in clear (nil uses Temporal's default).
func Dial(ctx context.Context, cfg config.Temporal, log *slog.Logger, dc converter.DataConverter, extra ...DialOption) (client.Client, error) {
	opts := client.Options{
		HostPort:      cfg.Address,
		Namespace:     cfg.Namespace,
		Logger:        sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		DataConverter: dc,
	}
	for _, o := range extra {
		o(&opts)
	}
	tlsConfig, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	opts.ConnectionOptions.TLS = tlsConfig
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// clientTLS builds the TLS settings: none for a plain local server, mTLS when a client
// certificate is given, and server-verified TLS for an API key or a custom CA.
func clientTLS(cfg config.Temporal) (*tls.Config, error) {
	if cfg.TLSCert == "" && cfg.TLSCA == "" && cfg.APIKey == "" && cfg.TLSServerName == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
	if cfg.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("temporal client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("temporal CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal CA %s: no PEM certificates found", cfg.TLSCA)
		}
		t.RootCAs = pool
	}
	return t, nil
}

// EnsureSearchAttributes registers the attributes that the namespace lacks. It is safe to
// run from every worker at start: existing attributes are left alone.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enums.IndexedValueType) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.CustomAttributes[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if got != typ {
			return fmt.Errorf("search attribute %s is %s, want %s", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// pollerFreshness is how recently a worker must have polled to count as alive; Temporal
// refreshes a poller's access time at least once a minute while it polls.
const pollerFreshness = 2 * time.Minute

// CheckWorkersPolling reports an error unless some worker polls taskQueue for both workflow
// and activity tasks.
func CheckWorkersPolling(ctx context.Context, c client.Client, taskQueue string) error {
	for _, kind := range []enums.TaskQueueType{enums.TASK_QUEUE_TYPE_WORKFLOW, enums.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := c.DescribeTaskQueue(ctx, taskQueue, kind)
		if err != nil {
			return fmt.Errorf("describe task queue %s: %w", taskQueue, err)
		}
		alive := false
		for _, p := range resp.GetPollers() {
			if time.Since(p.GetLastAccessTime().AsTime()) < pollerFreshness {
				alive = true
				break
			}
		}
		if !alive {
			return fmt.Errorf("no worker polls task queue %q for %s tasks", taskQueue, kindName(kind))
		}
	}
	return nil
}

func kindName(k enums.TaskQueueType) string {
	if k == enums.TASK_QUEUE_TYPE_ACTIVITY {
		return "activity"
	}
	return "workflow"
}
