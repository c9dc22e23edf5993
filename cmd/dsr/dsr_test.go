package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/devengine"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// syncBuffer collects a process's output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one in-process run of the dsr command line.
type process struct {
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
}

func start(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	go func() { p.done <- run(ctx, args, p.out, p.out) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends the equivalent of Ctrl-C and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("process exited with %v\n%s", err, p.out)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("process did not stop within 60s\n%s", p.out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// waitReady polls /readyz until it answers 200, failing the test with the last body.
func waitReady(t *testing.T, p *process, base string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("process exited before ready: %v\n%s", err, p.out)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body.String())
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s/readyz never answered 200; last: %s\n%s", base, last, p.out)
}

func dial(t *testing.T, addr string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestDevRunsEverythingAndKeepsStateAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	httpPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	args := []string{"dev", "--data-dir", dir, "--http", "127.0.0.1:" + httpPort,
		"--temporal-port", temporalPort, "--ui-port", uiPort}
	base := "http://127.0.0.1:" + httpPort

	first := start(t, args...)
	waitReady(t, first, base)
	for _, want := range []string{base, "127.0.0.1:" + temporalPort, "http://127.0.0.1:" + uiPort} {
		if !strings.Contains(first.out.String(), want) {
			t.Errorf("start-up output does not mention %s:\n%s", want, first.out)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + uiPort + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Temporal Web UI: %v %v", resp, err)
	}
	resp.Body.Close()

	c := dial(t, "127.0.0.1:"+temporalPort)
	checkID := uuid.NewString()
	cfgTQ := "dsr"
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.SelfCheckID(checkID), TaskQueue: cfgTQ,
	}, workflows.SelfCheck, workflows.SelfCheckInput{CheckID: checkID})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	first.stop(t)

	second := start(t, args...)
	waitReady(t, second, base)
	desc, err := c.DescribeWorkflowExecution(context.Background(), workflows.SelfCheckID(checkID), "")
	if err != nil {
		t.Fatalf("workflow from before the restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus().String(); got != "Completed" {
		t.Errorf("workflow status after restart = %s, want Completed", got)
	}
	list, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = 'SelfCheck'",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Our own run plus at least the self-check each start runs.
	if n := len(list.GetExecutions()); n < 2 {
		t.Errorf("listed %d self-check workflows after restart, want at least 2", n)
	}
	second.stop(t)
}

func TestDevRefusesABadSettingBeforeStarting(t *testing.T) {
	err := run(context.Background(), []string{"dev", "--temporal-port", "99999"}, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "DSR_TEMPORAL_PORT") {
		t.Fatalf("err = %v, want one naming DSR_TEMPORAL_PORT", err)
	}
}

// The production shape: migrate once, then two workers and two API processes share one
// Temporal server and one PostgreSQL database.
// stack is what production processes share: a Temporal server, a database and an SMTP
// server, and the flags every process needs to reach them.
type stack struct {
	temporal *devengine.Server
	dbURL    string
	smtp     *smtptest.Server
	common   []string
}

func newStack(t *testing.T) stack {
	t.Helper()
	eng, err := devengine.Start(devengine.Options{Log: newTestLogger(&syncBuffer{}), LogLevel: slog.LevelError})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Stop)
	s := stack{temporal: eng, dbURL: testenv.PostgresURL(t), smtp: smtptest.Start(t)}
	s.common = []string{"--database-url", s.dbURL, "--temporal-address", eng.Address, "--log-level", "warn",
		"--secret-key", strings.Repeat("5e", 32), "--public-url", "http://127.0.0.1", "--codec-keys", testCodecKeys}
	return s
}

var testCodecKeys = "t1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("c", 32)))

// client dials the stack's Temporal with the processes' codec, as staff tools would.
func (s stack) client(t *testing.T) client.Client {
	t.Helper()
	ring, err := codec.ParseKeyring(testCodecKeys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: s.temporal.Address, Namespace: "default", DataConverter: codec.DataConverter(ring)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// workerArgs starts a worker that mails through the stack's SMTP server.
func (s stack) workerArgs(extra ...string) []string {
	args := append([]string{"worker", "--smtp-host", s.smtp.Host(), "--smtp-port", strconv.Itoa(s.smtp.Port()), "--smtp-tls", "none"}, extra...)
	return append(args, s.common...)
}

func TestProductionProcessesShareTemporalAndPostgres(t *testing.T) {
	quiet := &syncBuffer{}
	s := newStack(t)
	dbURL, common := s.dbURL, s.common
	workerArgs := s.workerArgs()

	err := run(context.Background(), append([]string{"api", "--http", "127.0.0.1:0"}, common...), quiet, quiet)
	if err == nil || !strings.Contains(err.Error(), "dsr migrate") {
		t.Fatalf("api on an unmigrated database: err = %v, want advice to run dsr migrate", err)
	}
	var out syncBuffer
	if err := run(context.Background(), []string{"migrate", "--database-url", dbURL}, &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}

	var apis []*process
	var bases []string
	for range 2 {
		port := freePort(t)
		apis = append(apis, start(t, append([]string{"api", "--http", "127.0.0.1:" + port}, common...)...))
		bases = append(bases, "http://127.0.0.1:"+port)
	}
	if code, down := readyz(t, apis[0], bases[0]); code != http.StatusServiceUnavailable || len(down) != 1 || down[0] != "worker" {
		t.Fatalf("readyz with no worker = %d %v, want 503 naming only worker", code, down)
	}
	// An api told not to wait for workers stays in service without one.
	port := freePort(t)
	lenient := start(t, append([]string{"api", "--http", "127.0.0.1:" + port, "--ready-needs-worker=false"}, common...)...)
	if code, down := readyz(t, lenient, "http://127.0.0.1:"+port); code != http.StatusOK || len(down) != 0 {
		t.Fatalf("readyz with no worker, not needing one = %d %v, want 200", code, down)
	}
	start(t, workerArgs...)
	start(t, workerArgs...)
	for i, p := range apis {
		waitReady(t, p, bases[i])
	}

	c := s.client(t)
	for i := range 4 {
		checkID := uuid.NewString()
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: workflows.SelfCheckID(checkID), TaskQueue: "dsr",
		}, workflows.SelfCheck, workflows.SelfCheckInput{CheckID: checkID})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.SelfCheckResult
		if err := run.Get(context.Background(), &res); err != nil {
			t.Fatalf("self-check %d: %v", i, err)
		}
	}

}

func newTestLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// readyz waits for the API to answer /readyz at all and returns its status and what is down.
func readyz(t *testing.T, p *process, base string) (int, []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		var report struct{ Down []string }
		if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, report.Down
	}
	t.Fatalf("%s/readyz never answered\n%s", base, p.out)
	return 0, nil
}

func TestWorkerRefusesABrokenDataMapNamingFileAndLine(t *testing.T) {
	s := newStack(t)
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "datamap.yaml")
	broken := "stores:\n  - name: crm\n    kind: sql\n    connection: {driver: sqlite, dsn: crm.db}\n    tables:\n      - table: customers\n        identity: email\n        primary_key: id\n        pii: {full_name: name}\n        suppress: {columns: {full_name: erase}}\n"
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), s.workerArgs("--data-map", path), &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "datamap.yaml:10") || !strings.Contains(err.Error(), "erase") {
		t.Fatalf("err = %v, want the file, line 10 and the bad strategy named", err)
	}
}

// A worker stopped before it finished starting (Ctrl-C during start-up, or a rolling
// deploy's SIGTERM) stops cleanly, not with an error.
func TestAStopDuringStartUpIsClean(t *testing.T) {
	s := newStack(t)
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := &syncBuffer{}
	if err := run(ctx, s.workerArgs(), out, out); err != nil {
		t.Fatalf("worker stopped during start-up: %v\n%s", err, out)
	}
}
