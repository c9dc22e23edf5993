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
// and traced as a span under the activity that made it. The wrapper keeps the connector's
// optional abilities (identity checks, purges).
func (t *Telemetry) Store(c connector.Connector) connector.Connector {
	base := &instrumentedStore{inner: c, t: t}
	checker, checks := c.(connector.IdentityChecker)
	purger, purges := c.(connector.Purger)
	switch {
	case checks && purges:
		return &struct {
			*instrumentedStore
			checkingStore
			purgingStore
		}{base, checkingStore{base, checker}, purgingStore{base, purger}}
	case checks:
		return &struct {
			*instrumentedStore
			checkingStore
		}{base, checkingStore{base, checker}}
	case purges:
		return &struct {
			*instrumentedStore
			purgingStore
		}{base, purgingStore{base, purger}}
	}
	return base
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

type checkingStore struct {
	s     *instrumentedStore
	inner connector.IdentityChecker
}

func (c checkingStore) MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error) {
	var n int
	err := c.s.call(ctx, "match_data_points", func(ctx context.Context) error {
		var err error
		n, err = c.inner.MatchDataPoints(ctx, email, answers)
		return err
	})
	return n, err
}

type purgingStore struct {
	s     *instrumentedStore
	inner connector.Purger
}

func (p purgingStore) Purge(ctx context.Context, ref string) (connector.PurgeOutcome, error) {
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
