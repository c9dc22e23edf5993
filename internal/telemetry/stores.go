package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/dsr-project/dsr/internal/connector"
)

// Store wraps a connector so that each call into the store is timed, counted when it fails,
// and traced as a span under the activity that made it. The wrapper offers the capabilities
// of the connector inside, each instrumented too.
func (t *Telemetry) Store(c connector.Connector) connector.Connector {
	return &instrumentedStore{inner: c, t: t}
}

type instrumentedStore struct {
	inner connector.Connector
	t     *Telemetry
}

func (s *instrumentedStore) Name() string { return s.inner.Name() }

// Unwrap returns the connector underneath.
func (s *instrumentedStore) Unwrap() connector.Connector { return s.inner }

func (s *instrumentedStore) Apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	var res connector.Result
	err := s.call(ctx, "apply", func(ctx context.Context) error {
		var err error
		res, err = s.inner.Apply(ctx, op)
		return err
	})
	return res, err
}

// Capabilities are those of the connector inside, each call through them instrumented; a
// capability it lacks stays nil.
func (s *instrumentedStore) Capabilities() connector.Capabilities {
	caps := s.inner.Capabilities()
	if caps.IdentityChecker != nil {
		caps.IdentityChecker = instrumentedChecker{s, caps.IdentityChecker}
	}
	if caps.Purger != nil {
		caps.Purger = instrumentedPurger{s, caps.Purger}
	}
	return caps
}

type instrumentedChecker struct {
	s     *instrumentedStore
	inner connector.IdentityChecker
}

func (c instrumentedChecker) MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error) {
	var n int
	err := c.s.call(ctx, "match_data_points", func(ctx context.Context) error {
		var err error
		n, err = c.inner.MatchDataPoints(ctx, email, answers)
		return err
	})
	return n, err
}

type instrumentedPurger struct {
	s     *instrumentedStore
	inner connector.Purger
}

func (p instrumentedPurger) Purge(ctx context.Context, ref string) (connector.PurgeOutcome, error) {
	var out connector.PurgeOutcome
	err := p.s.call(ctx, "purge", func(ctx context.Context) error {
		var err error
		out, err = p.inner.Purge(ctx, ref)
		return err
	})
	return out, err
}

// call times one store operation. A store that answers later (connector.ErrPending) has not
// failed. The span carries the store and operation only, never the error text, which a
// store may fill with the data it was asked about.
func (s *instrumentedStore) call(ctx context.Context, operation string, do func(context.Context) error) error {
	store := s.inner.Name()
	ctx, span := s.t.tracer.Start(ctx, "store."+operation+" "+store, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("dsr.store", store), attribute.String("dsr.store.operation", operation)))
	defer span.End()
	began := time.Now()
	err := do(ctx)
	outcome := "ok"
	switch {
	case errors.Is(err, connector.ErrPending):
		outcome = "pending"
	case err != nil:
		outcome = "error"
		s.t.own.storeErrors.WithLabelValues(store, operation).Inc()
		span.SetStatus(codes.Error, "store call failed")
	}
	s.t.own.storeCalls.WithLabelValues(store, operation, outcome).Observe(time.Since(began).Seconds())
	span.SetAttributes(attribute.String("dsr.store.outcome", outcome))
	return err
}
