package telemetry

import (
	"context"

	"github.com/dsr-project/dsr/internal/mail"
)

// Mail wraps a sender so that sent mail and failures are counted. Failures are split as
// the activities treat them: permanent ones end the notice, transient ones are retried.
func (t *Telemetry) Mail(s mail.Sender) mail.Sender {
	return &countingSender{inner: s, metrics: t.own}
}

type countingSender struct {
	inner   mail.Sender
	metrics *ownMetrics
}

func (s *countingSender) Send(ctx context.Context, m mail.Message) error {
	err := s.inner.Send(ctx, m)
	switch {
	case err == nil:
		s.metrics.mailSent.Inc()
	case mail.IsPermanent(err):
		s.metrics.mailFailures.WithLabelValues("permanent").Inc()
	default:
		s.metrics.mailFailures.WithLabelValues("transient").Inc()
	}
	return err
}
