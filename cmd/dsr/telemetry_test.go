package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/demo"
)

// otlpCollector is a real OTLP/gRPC trace receiver that keeps every span it is sent.
type otlpCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *otlpCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *otlpCollector) all() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans...)
}

func startCollector(t *testing.T) (*otlpCollector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &otlpCollector{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return c, "http://" + ln.Addr().String()
}

// scrape reads a /metrics page into "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sample returns the sum of the series of metric name whose labels include every one of want.
func sample(series map[string]float64, name string, want ...string) (float64, bool) {
	total, found := 0.0, false
	for key, v := range series {
		metric, labels, _ := strings.Cut(key, "{")
		if metric != name {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(labels, w)
		}
		if ok {
			total, found = total+v, true
		}
	}
	return total, found
}

// A restriction runs through an api and a worker process that export traces to an OTLP
// collector and serve metrics on their own ports: both ports show HTTP, Temporal SDK and
// dsr metrics, and the intake call, the workflow, an activity and a store call share one
// trace.
func TestTelemetryMetricsAndOneTraceFromAPIToStore(t *testing.T) {
	collector, endpoint := startCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	s := newStack(t)
	logs := &syncBuffer{}
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, logs, logs); err != nil {
		t.Fatal(err)
	}
	workerMetrics, apiMetrics, httpPort := freePort(t), freePort(t), freePort(t)
	workerProc := start(t, s.workerArgs("--demo-store", demoTarget(t), "--metrics-addr", "127.0.0.1:"+workerMetrics)...)
	base := "http://127.0.0.1:" + httpPort
	apiProc := start(t, append([]string{"api", "--http", "127.0.0.1:" + httpPort, "--metrics-addr", "127.0.0.1:" + apiMetrics}, s.common...)...)
	waitReady(t, apiProc, base)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output:\n%s\napi output:\n%s", workerProc.out, apiProc.out)
		}
	})

	alice := demo.DemoPeople()[0]
	var intake api.IntakeAnswer
	if code := call(t, http.MethodPost, base+"/api/v1/requests", "", map[string]any{
		"type": "restrict", "email": alice.Email, "jurisdiction": "gdpr",
		"details": map[string]any{"limits": []string{"marketing_email"}}}, &intake); code != http.StatusAccepted {
		t.Fatalf("intake: %d %+v", code, intake)
	}
	msg := s.smtp.WaitFor(t, alice.Email, 30*time.Second)
	m := codeInMail.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no code in the mail: %q", msg.Text)
	}
	var verified api.VerifyAnswer
	if code := call(t, http.MethodPost, base+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken,
		map[string]string{"code": m[1]}, &verified); code != http.StatusOK {
		t.Fatalf("verify: %d %+v", code, verified)
	}
	// The demo company's stores answer at once or leave tasks for staff; either way the
	// request has left verification once a store was called.
	status := waitPastVerification(t, base, intake, "http://127.0.0.1:"+workerMetrics+"/metrics")

	t.Run("api metrics", func(t *testing.T) {
		got := scrape(t, "http://127.0.0.1:"+apiMetrics+"/metrics")
		if n, _ := sample(got, "dsr_http_requests_total", `code="202"`, `method="POST"`, `url="/api/v1/requests"`); n < 1 {
			t.Errorf("dsr_http_requests_total for the intake = %v, want at least 1", n)
		}
		for key := range got {
			if strings.Contains(key, intake.ID) || strings.Contains(key, intake.StatusToken) || strings.Contains(key, alice.Email) {
				t.Errorf("a metric label carries the request ID, token or address: %s", key)
			}
		}
		if n, _ := sample(got, "dsr_requests", `type="restrict"`, `status="`+status+`"`); n != 1 {
			t.Errorf("dsr_requests{type=restrict,status=%s} = %v, want 1", status, n)
		}
		if n, ok := sample(got, "dsr_requests_overdue", `type="restrict"`); !ok || n != 0 {
			t.Errorf("dsr_requests_overdue{type=restrict} = %v (present %v), want 0", n, ok)
		}
		if n, _ := sample(got, "temporal_request", `operation="StartWorkflowExecution"`); n < 1 {
			t.Errorf("temporal_request for StartWorkflowExecution = %v, want at least 1", n)
		}
	})

	t.Run("worker metrics", func(t *testing.T) {
		got := scrape(t, "http://127.0.0.1:"+workerMetrics+"/metrics")
		if n, _ := sample(got, "temporal_workflow_task_execution_latency_seconds_count", `workflow_type="Request"`); n < 1 {
			t.Errorf("temporal workflow task latency count for Request = %v, want at least 1", n)
		}
		if n, _ := sample(got, "dsr_store_call_duration_seconds_count", `operation="apply"`, `outcome="ok"`); n < 1 {
			t.Errorf("dsr_store_call_duration_seconds_count for apply = %v, want at least 1", n)
		}
		if n, _ := sample(got, "dsr_request_transitions_total", `type="restrict"`, `from="awaiting_email_verification"`); n != 1 {
			t.Errorf("transitions of the restriction out of awaiting_email_verification = %v, want exactly 1", n)
		}
		if n, _ := sample(got, "dsr_request_status_duration_seconds_count", `type="restrict"`, `status="awaiting_email_verification"`); n != 1 {
			t.Errorf("time-in-status observations for awaiting_email_verification = %v, want 1", n)
		}
		if n, _ := sample(got, "dsr_mail_sent_total"); n < 2 {
			t.Errorf("dsr_mail_sent_total = %v, want the code and the completion notice at least", n)
		}
	})

	t.Run("one trace from the API call to the store call", func(t *testing.T) {
		for _, sp := range collector.all() {
			if strings.HasPrefix(sp.GetName(), "GET /readyz") {
				t.Errorf("probe requests are traced: %s", sp.GetName())
				break
			}
		}
		// RunWorkflow's own span ends, and is exported, only when the workflow does; the
		// activities the workflow starts (StartActivity, on the worker) stand for it here.
		want := []string{"StartWorkflow:Request", "StartActivity:RunStore", "RunActivity:RunStore", "store.apply "}
		var missing []string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			missing = missingFromIntakeTrace(collector.all(), want)
			if len(missing) == 0 {
				return
			}
		}
		t.Fatalf("the intake's trace lacks spans %v; spans received: %s", missing, spanNames(collector.all()))
	})
}

// waitPastVerification waits until a worker has called a store for the request and the
// request's status has settled, and returns that status.
func waitPastVerification(t *testing.T, base string, intake api.IntakeAnswer, workerMetrics string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		var view api.RequesterView
		if call(t, http.MethodGet, base+"/api/v1/requests/"+intake.ID, intake.StatusToken, nil, &view) != http.StatusOK {
			continue // the engine may be slow to answer a query on a busy machine
		}
		last = string(view.Status)
		called, _ := sample(scrape(t, workerMetrics), "dsr_store_call_duration_seconds_count", `operation="apply"`)
		if called > 0 && last != "in_progress" && last != "awaiting_email_verification" && last != "received" {
			return last
		}
	}
	t.Fatalf("request %s never left verification and called a store; last status %q", intake.ID, last)
	return ""
}

// missingFromIntakeTrace finds the server span of POST /api/v1/requests and returns the
// names in want (as prefixes) that no span of its trace has.
func missingFromIntakeTrace(spans []*tracepb.Span, want []string) []string {
	var traceID []byte
	for _, sp := range spans {
		if sp.GetName() == "POST /api/v1/requests" && sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			traceID = sp.GetTraceId()
		}
	}
	if traceID == nil {
		return append([]string{"POST /api/v1/requests"}, want...)
	}
	var missing []string
	for _, w := range want {
		found := false
		for _, sp := range spans {
			found = found || (string(sp.GetTraceId()) == string(traceID) && strings.HasPrefix(sp.GetName(), w))
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

func spanNames(spans []*tracepb.Span) string {
	var names []string
	for _, sp := range spans {
		names = append(names, fmt.Sprintf("%s(%x)", sp.GetName(), sp.GetTraceId()[:4]))
	}
	return strings.Join(names, ", ")
}
