package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// RequestCounter counts the requests in the application database, as requestdb.Repo does.
type RequestCounter interface {
	CountByStatus(ctx context.Context, now time.Time) ([]requestdb.StatusCount, error)
}

// requestCollector reads the request gauges from the application database at scrape time.
// Every process that reads them reports the same numbers, however many api processes run,
// so dashboards take the max across instances, never the sum.
type requestCollector struct {
	counter RequestCounter
	log     *slog.Logger
	errors  prometheus.Counter
	byState *prometheus.Desc
	overdue *prometheus.Desc
}

func newRequestCollector(counter RequestCounter, log *slog.Logger, errors prometheus.Counter) *requestCollector {
	c := &requestCollector{counter: counter, log: log, errors: errors}
	c.describe()
	return c
}

func (c *requestCollector) describe() {
	c.byState = prometheus.NewDesc(requestsMetric, "Privacy requests in the database, by type and status.", []string{"type", "status"}, nil)
	c.overdue = prometheus.NewDesc(overdueMetric, "Open privacy requests past their due date, by type.", []string{"type"}, nil)
}

func (c *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.byState == nil {
		c.describe()
	}
	if c.errors == nil {
		c.errors = newQueryErrors()
	}
	ch <- c.byState
	ch <- c.overdue
	c.errors.Describe(ch)
}

// queryTimeout bounds the scrape-time queries so a slow database cannot hang a scrape.
const queryTimeout = 5 * time.Second

// Collect reads the counts in one grouped query; the overdue count comes from the same
// rows, so both gauges describe one moment. The error counter goes out last: the registry
// gathers collectors in parallel, and a counter of its own could be read before this
// scrape's failure was counted.
func (c *requestCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	rows, err := c.counter.CountByStatus(ctx, time.Now())
	if err != nil {
		c.errors.Inc()
		c.log.Warn("could not read request gauges", "error", err)
		return
	}
	overdue := map[string]int64{}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.byState, prometheus.GaugeValue, float64(r.Count), string(r.Type), string(r.Status))
		// Every type seen gets an overdue gauge, 0 when none is late, so alerts see a value.
		overdue[string(r.Type)] += r.Overdue
	}
	for typ, n := range overdue {
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(n), typ)
	}
}
