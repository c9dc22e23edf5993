package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/telemetry"
)

// flakyStore is a store whose answer each test chooses; it also checks identities, so the
// wrapper must keep that ability.
type flakyStore struct{ err error }

func (s *flakyStore) Name() string { return "crm" }
func (s *flakyStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{Store: "crm"}, s.err
}
func (s *flakyStore) Capabilities() connector.Capabilities {
	return connector.Capabilities{IdentityChecker: s}
}
func (s *flakyStore) MatchDataPoints(context.Context, string, map[string]string) (int, error) {
	return 2, nil
}

func newTelemetry(t *testing.T) (*telemetry.Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(t.Context(), telemetry.Options{Service: "test", SpanExporter: spans})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	return tel, spans
}

// metricsText scrapes the telemetry's own handler.
func metricsText(t *testing.T, tel *telemetry.Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStoreCallMetricsAndTracesPerStore(t *testing.T) {
	tel, spans := newTelemetry(t)
	inner := &flakyStore{}
	store := tel.Store(inner)
	caps := store.Capabilities()
	if caps.IdentityChecker == nil {
		t.Fatal("the wrapped store lost its identity checks")
	}
	if caps.Purger != nil {
		t.Fatal("the wrapped store gained purges it does not have")
	}
	ctx := t.Context()
	store.Apply(ctx, connector.Operation{RequestID: "r1"})
	inner.err = fmt.Errorf("webhook: %w", connector.ErrPending)
	store.Apply(ctx, connector.Operation{RequestID: "r1"})
	inner.err = errors.New("connection refused")
	if _, err := store.Apply(ctx, connector.Operation{RequestID: "r1"}); err != inner.err {
		t.Fatalf("err = %v, want the store's own", err)
	}
	if n, err := caps.IdentityChecker.MatchDataPoints(ctx, "a@example.com", nil); n != 2 || err != nil {
		t.Fatalf("MatchDataPoints = %d, %v", n, err)
	}

	text := metricsText(t, tel)
	for _, want := range []string{
		`dsr_store_call_duration_seconds_count{operation="apply",outcome="ok",store="crm"} 1`,
		`dsr_store_call_duration_seconds_count{operation="apply",outcome="pending",store="crm"} 1`,
		`dsr_store_call_duration_seconds_count{operation="apply",outcome="error",store="crm"} 1`,
		`dsr_store_call_duration_seconds_count{operation="match_data_points",outcome="ok",store="crm"} 1`,
		`dsr_store_call_errors_total{operation="apply",store="crm"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if err := tel.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := spans.GetSpans()
	if len(got) != 4 || got[0].Name != "store.apply crm" || got[3].Name != "store.match_data_points crm" {
		t.Fatalf("spans = %v", got)
	}
	for _, sp := range got {
		for _, a := range sp.Attributes {
			if strings.Contains(a.Value.Emit(), "@") || strings.Contains(a.Value.Emit(), "refused") {
				t.Errorf("span %s carries %s=%s", sp.Name, a.Key, a.Value.Emit())
			}
		}
	}
}

// keepingStore is a store that can purge what it kept, and nothing else.
type keepingStore struct{ purged []string }

func (s *keepingStore) Name() string { return "ledger" }
func (s *keepingStore) Apply(context.Context, connector.Operation) (connector.Result, error) {
	return connector.Result{Store: "ledger"}, nil
}
func (s *keepingStore) Capabilities() connector.Capabilities {
	return connector.Capabilities{Purger: s}
}
func (s *keepingStore) Purge(_ context.Context, ref string) (connector.PurgeOutcome, error) {
	s.purged = append(s.purged, ref)
	return connector.PurgeOutcome{Purged: true}, nil
}

func TestWrappedStorePurgesThroughTheStoreInsideAndCountsIt(t *testing.T) {
	tel, _ := newTelemetry(t)
	inner := &keepingStore{}
	caps := tel.Store(inner).Capabilities()
	if caps.IdentityChecker != nil {
		t.Fatal("the wrapped store gained identity checks it does not have")
	}
	if caps.Purger == nil {
		t.Fatal("the wrapped store lost its purges")
	}
	if out, err := caps.Purger.Purge(t.Context(), "invoices:I-1"); !out.Purged || err != nil {
		t.Fatalf("Purge = %+v, %v", out, err)
	}
	if len(inner.purged) != 1 || inner.purged[0] != "invoices:I-1" {
		t.Errorf("the store inside purged %v, want invoices:I-1", inner.purged)
	}
	if want := `dsr_store_call_duration_seconds_count{operation="purge",outcome="ok",store="ledger"} 1`; !strings.Contains(metricsText(t, tel), want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestMailMetricsCountSentAndFailed(t *testing.T) {
	tel, _ := newTelemetry(t)
	srv := smtptest.Start(t, smtptest.WithRejectRecipient("gone@example.com", 550))
	smtp, err := mail.NewSMTPSender(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: "privacy@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	sender := tel.Mail(smtp)
	if err := sender.Send(t.Context(), mail.Message{To: "alice@example.com", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(t.Context(), mail.Message{To: "gone@example.com", Subject: "s", Text: "t"}); !mail.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent refusal", err)
	}
	text := metricsText(t, tel)
	for _, want := range []string{"dsr_mail_sent_total 1", `dsr_mail_send_failures_total{reason="permanent"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "example.com") {
		t.Error("an address reached the metrics")
	}
}

func TestHTTPMetricsAndSpansUseTheRouteTemplate(t *testing.T) {
	tel, spans := newTelemetry(t)
	e := echo.New()
	e.Use(tel.HTTPMiddleware()...)
	e.GET("/api/v1/requests/:id", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusNotFound, "no such request")
	})
	e.GET("/readyz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	for _, path := range []string{"/api/v1/requests/secret-id-1", "/api/v1/requests/secret-id-2", "/readyz", "/no/such/path/token123"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	text := metricsText(t, tel)
	if !strings.Contains(text, `code="404",host="example.com",method="GET",url="/api/v1/requests/:id"} 2`) {
		t.Errorf("no 404 count of 2 under the route template:\n%s", grep(text, "dsr_http_requests_total"))
	}
	for _, leak := range []string{"secret-id", "token123"} {
		if strings.Contains(text, leak) {
			t.Errorf("a raw path (%s) reached a label", leak)
		}
	}
	if err := tel.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range spans.GetSpans() {
		names = append(names, sp.Name)
	}
	if got := strings.Join(names, ","); got != "GET /api/v1/requests/:id,GET /api/v1/requests/:id,GET unmatched" {
		t.Errorf("spans = %s, want two under the route template and one unmatched, none for the probe", got)
	}
}

func TestNoTracingWithoutAnExporter(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel, err := telemetry.New(t.Context(), telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tel.Tracing() {
		t.Error("tracing is on with no exporter configured")
	}
	is, err := tel.TemporalInterceptors()
	if err != nil || len(is) != 0 {
		t.Errorf("interceptors = %d, %v; want none without tracing", len(is), err)
	}
}

func TestMetricsNamesListOwnAndHTTPMetrics(t *testing.T) {
	names := strings.Join(telemetry.MetricNames(), " ")
	for _, want := range []string{"dsr_requests", "dsr_requests_overdue", "dsr_store_call_duration_seconds", "dsr_http_requests_total", "dsr_mail_send_failures_total"} {
		if !strings.Contains(" "+names+" ", " "+want+" ") {
			t.Errorf("MetricNames lacks %s: %s", want, names)
		}
	}
}

func TestStatusChangesAreCountedOncePerStoredStep(t *testing.T) {
	tel, _ := newTelemetry(t)
	ctx := t.Context()
	change := requestdb.Applied{Stored: true, Type: domain.TypeRestrict, From: domain.StatusAwaitingEmailVerification,
		To: domain.StatusInProgress, TimeInFrom: 90 * time.Second}
	tel.StepStored(ctx, change)
	retried := change
	retried.Stored = false // an earlier attempt stored it
	tel.StepStored(ctx, retried)
	tel.StepStored(ctx, requestdb.Applied{Stored: true, Type: domain.TypeRestrict, From: domain.StatusInProgress, To: domain.StatusInProgress})

	text := metricsText(t, tel)
	for _, want := range []string{
		`dsr_request_transitions_total{from="awaiting_email_verification",to="in_progress",type="restrict"} 1`,
		`dsr_request_status_duration_seconds_count{status="awaiting_email_verification",type="restrict"} 1`,
		`dsr_request_status_duration_seconds_sum{status="awaiting_email_verification",type="restrict"} 90`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(text, "dsr_request_"))
		}
	}
	if strings.Contains(text, `from="in_progress"`) || strings.Contains(text, `status="in_progress"`) {
		t.Errorf("a step that kept the status was counted:\n%s", grep(text, "dsr_request_"))
	}
}

// fakeCounter answers the request gauges' query as the test sets it.
type fakeCounter struct {
	rows []requestdb.StatusCount
	err  error
}

func (c *fakeCounter) CountByStatus(context.Context, time.Time) ([]requestdb.StatusCount, error) {
	return c.rows, c.err
}

func TestRequestGaugesAreReadAtScrapeTime(t *testing.T) {
	tel, _ := newTelemetry(t)
	counter := &fakeCounter{rows: []requestdb.StatusCount{
		{Type: domain.TypeReview, Status: domain.StatusInProgress, Count: 3, Overdue: 2},
		{Type: domain.TypeReview, Status: domain.StatusPendingReview, Count: 1, Overdue: 1},
		{Type: domain.TypeRestrict, Status: domain.StatusCompleted, Count: 4},
	}}
	if err := tel.ReportRequests(counter); err != nil {
		t.Fatal(err)
	}
	text := metricsText(t, tel)
	for _, want := range []string{
		`dsr_requests{status="in_progress",type="review"} 3`,
		`dsr_requests{status="completed",type="restrict"} 4`,
		`dsr_requests_overdue{type="review"} 3`,
		`dsr_requests_overdue{type="restrict"} 0`,
		`dsr_requests_query_errors_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(text, "dsr_requests"))
		}
	}
	counter.err = errors.New("database unreachable")
	text = metricsText(t, tel)
	if !strings.Contains(text, "dsr_requests_query_errors_total 1") || strings.Contains(text, "dsr_requests{") {
		t.Errorf("a failed read should count an error and report no gauges:\n%s", grep(text, "dsr_requests"))
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
