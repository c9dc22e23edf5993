package telemetry

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of dsr's own metrics. Dashboards and alerts in deploy/ may use only these, the HTTP
// metrics and the Temporal SDK's; a test in deploy/ checks it.
const (
	requestsMetric          = "dsr_requests"
	overdueMetric           = "dsr_requests_overdue"
	transitionsMetric       = "dsr_request_transitions_total"
	timeInStatusMetric      = "dsr_request_status_duration_seconds"
	storeCallMetric         = "dsr_store_call_duration_seconds"
	storeErrorsMetric       = "dsr_store_call_errors_total"
	mailSentMetric          = "dsr_mail_sent_total"
	mailFailuresMetric      = "dsr_mail_send_failures_total"
	requestQueryErrorMetric = "dsr_requests_query_errors_total"
)

// ownMetrics are the instruments dsr updates itself.
type ownMetrics struct {
	transitions  *prometheus.CounterVec
	timeInStatus *prometheus.HistogramVec
	storeCalls   *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	mailSent     prometheus.Counter
	mailFailures *prometheus.CounterVec
	queryErrors  prometheus.Counter
	http         echo.MiddlewareFunc
}

// statusBuckets span a status's life, from seconds (an automatic step) to the months a
// request may legally take.
var statusBuckets = []float64{1, 10, 60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 45 * 86400, 90 * 86400}

func newOwnMetrics() *ownMetrics {
	return &ownMetrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: transitionsMetric,
			Help: "Status changes of privacy requests, by request type and the statuses left and entered."},
			[]string{"type", "from", "to"}),
		timeInStatus: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: timeInStatusMetric,
			Help: "Time a request spent in a status, observed when it leaves the status.", Buckets: statusBuckets},
			[]string{"type", "status"}),
		storeCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: storeCallMetric,
			Help:    "Latency of calls into the company's stores, by store, operation and outcome (ok, pending, error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"store", "operation", "outcome"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: storeErrorsMetric,
			Help: "Store calls that failed, by store and operation."}, []string{"store", "operation"}),
		mailSent: prometheus.NewCounter(prometheus.CounterOpts{Name: mailSentMetric,
			Help: "Mail handed to the mail server."}),
		mailFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: mailFailuresMetric,
			Help: "Mail that could not be sent: permanent (the server refused it) or transient (retried)."},
			[]string{"reason"}),
		queryErrors: newQueryErrors(),
	}
}

func newQueryErrors() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: requestQueryErrorMetric,
		Help: "Scrapes whose request gauges could not be read from the database."})
}

// register registers every metric but queryErrors, which the request collector exposes
// itself after it reads, so that a scrape that failed counts in that same scrape.
func (m *ownMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.transitions, m.timeInStatus, m.storeCalls, m.storeErrors, m.mailSent, m.mailFailures} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	mw, err := echoprometheus.MiddlewareConfig{
		Namespace: "dsr", Subsystem: "http", Registerer: reg,
		// Unmatched paths may be anything a client sends; they share one label.
		DoNotUseRequestPathFor404: true,
	}.ToMiddleware()
	if err != nil {
		return fmt.Errorf("register http metrics: %w", err)
	}
	m.http = mw
	return nil
}

// MetricNames lists the metric families dsr itself defines (its own and the HTTP ones, not
// the Temporal SDK's or the Go runtime's), as Prometheus names them, sorted.
func MetricNames() []string {
	rec := &describingRegisterer{}
	if err := newOwnMetrics().register(rec); err != nil {
		panic(err) // only a duplicate name fails here, a programming error
	}
	rec.MustRegister(&requestCollector{})
	slices.Sort(rec.names)
	return slices.Compact(rec.names)
}

// describingRegisterer collects the names of what is registered with it.
type describingRegisterer struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *describingRegisterer) Register(c prometheus.Collector) error {
	r.describe(c)
	return nil
}

func (r *describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		r.describe(c)
	}
}

func (r *describingRegisterer) describe(c prometheus.Collector) {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names = append(r.names, m[1])
		}
	}
}

func (r *describingRegisterer) Unregister(prometheus.Collector) bool { return false }
