package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cluster is one run of deploy/local-cluster.sh with its own directory, ports and
// databases.
type cluster struct {
	dir  string
	env  []string
	apis []string // base URLs
}

// script runs deploy/local-cluster.sh with the cluster's environment.
func (c *cluster) script(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot, "deploy", "local-cluster.sh")}, append(args, "--dir", c.dir)...)...)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// setting is the value the cluster's processes get: like exec, the last one set wins, so a
// test's own setting overrides startCluster's default.
func (c *cluster) setting(name string) string {
	value := ""
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			value = v
		}
	}
	return value
}

// workerPIDs reads the PIDs the script recorded for its workers.
func (c *cluster) workerPIDs(t *testing.T) map[int]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.dir, "run", "worker-*.pid"))
	pids := map[int]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids[pid] = strings.TrimSuffix(filepath.Base(f), ".pid")
	}
	return pids
}

// logs returns the tail of every process log, for a failure message.
func (c *cluster) logs() string {
	files, _ := filepath.Glob(filepath.Join(c.dir, "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		fmt.Fprintf(&b, "---- %s\n%s\n", filepath.Base(f), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

// startCluster starts the script's cluster with 2 workers and 2 APIs and stops it, dropping
// its databases, when the test ends, whatever happened.
func startCluster(t *testing.T, extraEnv ...string) *cluster {
	t.Helper()
	pg, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	password, _ := pg.User.Password()
	c := &cluster{dir: t.TempDir()}
	c.env = append(callerEnv(),
		"LOCAL_CLUSTER_PORT_BASE="+strconv.Itoa(testenv.FreePortRange(t, 14)),
		"LOCAL_CLUSTER_DB_PREFIX=lc_"+randomHex(t, 5),
		"PGHOST="+pg.Hostname(), "PGPORT="+pg.Port(), "PGUSER="+pg.User.Username(), "PGPASSWORD="+password,
		"DSR_SECRET_KEY="+randomHex(t, 32),
		"DSR_CODEC_KEYS=lc1:"+base64.StdEncoding.EncodeToString([]byte(randomHex(t, 16))),
		"DSR_LOG_LEVEL=info", "DSR_DEMO_STORE=off",
	)
	if os.Getenv("LOCAL_CLUSTER_BIN") == "" {
		// A shared binary directory keeps later runs from relinking the Temporal server.
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		c.env = append(c.env, "LOCAL_CLUSTER_BIN="+filepath.Join(cache, "dsr-local-cluster", "bin"))
	}
	c.env = append(c.env, extraEnv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", c.logs())
		}
		if out, err := c.script(t, "destroy"); err != nil {
			t.Errorf("destroy: %v\n%s", err, out)
		}
	})
	out, err := c.script(t, "start", "--workers", "2", "--apis", "2")
	if err != nil {
		t.Fatalf("local-cluster.sh start: %v\n%s", err, out)
	}
	for _, m := range regexp.MustCompile(`(?m)^API:\s+(\S+)$`).FindAllStringSubmatch(out, -1) {
		c.apis = append(c.apis, m[1])
	}
	if len(c.apis) != 2 || !strings.Contains(out, "Temporal:  127.0.0.1:") {
		t.Fatalf("start printed no Temporal address and two API URLs:\n%s", out)
	}
	env, err := c.script(t, "env")
	if err != nil {
		t.Fatal(err)
	}
	// The lines a benchmark harness reads: export NAME='value'.
	for _, m := range regexp.MustCompile(`(?m)^export (TEMPORAL_ADDRESS|DATABASE_URL)='([^']*)'$`).FindAllStringSubmatch(env, -1) {
		c.env = append(c.env, m[1]+"="+m[2])
	}
	if !strings.HasPrefix(c.setting("TEMPORAL_ADDRESS"), "127.0.0.1:") || !strings.HasPrefix(c.setting("DATABASE_URL"), "postgres://") {
		t.Fatalf("env printed no TEMPORAL_ADDRESS or DATABASE_URL:\n%s", env)
	}
	return c
}

// callerEnv is this process's environment without any setting of dsr, Temporal, PostgreSQL
// or the script, so that only what the test sets reaches the cluster. LOCAL_CLUSTER_BIN
// and LOCAL_CLUSTER_NO_BUILD pass, to reuse binaries built elsewhere.
func callerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "LOCAL_CLUSTER_BIN" || name == "LOCAL_CLUSTER_NO_BUILD":
		case strings.HasPrefix(name, "DSR_"), strings.HasPrefix(name, "TEMPORAL_"), strings.HasPrefix(name, "LOCAL_CLUSTER_"),
			strings.HasPrefix(name, "PG"), name == "DATABASE_URL":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// post sends JSON to an API and decodes its JSON answer into out.
func post(t *testing.T, url, token string, body, out any) int {
	t.Helper()
	return send(t, http.MethodPost, url, token, body, out)
}

func send(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	return testenv.CallJSON(t, method, url, token, body, out)
}

// engine is the cluster's Temporal as staff tools see it: with the processes' codec.
type engine struct {
	client.Client
	dc converter.DataConverter
}

func dialEngine(t *testing.T, c *cluster) engine {
	t.Helper()
	ring, err := codec.ParseKeyring(c.setting("DSR_CODEC_KEYS"))
	if err != nil {
		t.Fatal(err)
	}
	e := engine{dc: codec.DataConverter(ring)}
	e.Client, err = client.Dial(client.Options{HostPort: c.setting("TEMPORAL_ADDRESS"), Namespace: "default", DataConverter: e.dc,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// runningStore is one store's fan-out activity as the engine sees it.
type runningStore struct {
	activityID string
	started    bool
	worker     string // host:pid of the worker running it
	attempt    int32
}

// storeActivities maps each store of the request's fan-out to the pending activity that
// runs it (one activity runs every store of a fan-out).
func (e engine) storeActivities(t *testing.T, workflowID string) map[string]runningStore {
	t.Helper()
	stores, _ := e.runStores(t, workflowID)
	desc, err := e.DescribeWorkflowExecution(t.Context(), workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]runningStore{}
	for _, p := range desc.GetPendingActivities() {
		for _, store := range stores[p.GetActivityId()] {
			out[store] = runningStore{activityID: p.GetActivityId(), attempt: p.GetAttempt(),
				started: p.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED, worker: p.GetLastWorkerIdentity()}
		}
	}
	return out
}

// runStores reads the history: the stores of each RunStores activity (from its encrypted
// input) by activity ID, and the attempt that finished each store's activity.
func (e engine) runStores(t *testing.T, workflowID string) (byActivity map[string][]string, finalAttempt map[string]int32) {
	t.Helper()
	byActivity, finalAttempt = map[string][]string{}, map[string]int32{}
	byEvent := map[int64][]string{}
	it := e.GetWorkflowHistory(t.Context(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "RunStores" {
			var in struct{ Stores []string }
			if err := e.dc.FromPayloads(a.GetInput(), &in); err != nil {
				t.Fatal(err)
			}
			byActivity[a.GetActivityId()], byEvent[ev.GetEventId()] = in.Stores, in.Stores
		}
		// The engine writes an activity's started event once, with the attempt that ended it.
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			for _, store := range byEvent[a.GetScheduledEventId()] {
				finalAttempt[store] = a.GetAttempt()
			}
		}
	}
	return byActivity, finalAttempt
}

func waitUntil(t *testing.T, what string, timeout time.Duration, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !done(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
	}
}

// The proof (issues 9 and 4): on the script's cluster (a Temporal server on
// PostgreSQL, 2 workers and 2 APIs as OS processes), a restriction fans out to two SQL
// stores and a webhook store. Each store applies its change and the worker running the
// webhook is SIGKILLed before any store's result is recorded; a worker is restarted with
// a re-run of the script. The request completes and every change was applied once.
func TestLocalClusterCompletesARequestWhoseWorkerIsKilledMidFanOut(t *testing.T) {
	crmDSN, billingDSN := testenv.PostgresURL(t), testenv.PostgresURL(t)
	storeSchema(t, crmDSN, "customers", "newsletter")
	storeSchema(t, billingDSN, "accounts", "share_with_affiliates")
	newsletter := startNewsletter(t)
	smtp := smtptest.Start(t)
	c := startCluster(t,
		"DSR_DATA_MAP="+writeDataMap(t, newsletter.url),
		"LC_TEST_CRM_DSN="+crmDSN, "LC_TEST_BILLING_DSN="+billingDSN, "LC_TEST_NEWSLETTER_SECRET="+string(newsletterSecret),
		"DSR_SMTP_HOST="+smtp.Host(), "DSR_SMTP_PORT="+strconv.Itoa(smtp.Port()), "DSR_SMTP_TLS=none",
	)
	tc := dialEngine(t, c)

	var intake struct {
		ID          string
		StatusToken string `json:"status_token"`
	}
	if code := post(t, c.apis[0]+"/api/v1/requests", "", map[string]any{"type": "restrict", "email": personEmail,
		"details": map[string]any{"limits": []string{"marketing_email", "affiliate_sharing"}}}, &intake); code != http.StatusAccepted {
		t.Fatalf("intake: %d %+v", code, intake)
	}
	workflowID := "dsr-" + intake.ID

	// A locked "running" row per SQL store holds their activities just after the store has
	// committed its change, before the activity records the result and reports back. The
	// fan-out's own "running" rows meet these and leave them be (ON CONFLICT DO NOTHING
	// does not wait on a row lock); saving a result updates the row, so it waits.
	app := connect(t, c.setting("DATABASE_URL"))
	for _, store := range []string{"crm", "billing"} {
		if _, err := app.Exec(t.Context(), `INSERT INTO store_results (request_id, store, result, state, recorded_at) VALUES ($1, $2, '', 'running', now())`, intake.ID, store); err != nil {
			t.Fatal(err)
		}
	}
	hold, err := app.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.Background())
	if _, err := hold.Exec(t.Context(), `SELECT 1 FROM store_results WHERE request_id = $1 FOR UPDATE`, intake.ID); err != nil {
		t.Fatal(err)
	}

	mail := smtp.WaitFor(t, personEmail, time.Minute)
	code := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(mail.Text)
	if code == nil {
		t.Fatal("no code in the mail")
	}
	var verified map[string]any
	if status := post(t, c.apis[1]+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken, map[string]string{"code": code[1]}, &verified); status != http.StatusOK {
		t.Fatalf("verify: %d %v", status, verified)
	}

	// Mid fan-out: every store has applied its change and no activity has reported.
	select {
	case <-newsletter.held:
	case <-time.After(2 * time.Minute):
		t.Fatal("the newsletter service was never called")
	}
	crm, billing := connect(t, crmDSN), connect(t, billingDSN)
	waitUntil(t, "committed change in both SQL stores", time.Minute, func() bool {
		return bookkept(t, crm, intake.ID) && bookkept(t, billing, intake.ID)
	})
	var running map[string]runningStore
	waitUntil(t, "the fan-out started in all three stores", time.Minute, func() bool {
		running = tc.storeActivities(t, workflowID)
		return len(running) == 3 && running["crm"].started && running["billing"].started && running["newsletter"].started
	})
	victim := running["newsletter"].worker
	pid, err := strconv.Atoi(victim[strings.LastIndex(victim, ":")+1:])
	if err != nil {
		t.Fatalf("worker identity %q: %v", victim, err)
	}
	name, ours := c.workerPIDs(t)[pid]
	if !ours {
		t.Fatalf("the newsletter activity runs on %s, not one of the cluster's workers %v", victim, c.workerPIDs(t))
	}
	for store, r := range running {
		t.Logf("at the kill: %s runs on %s (attempt %d)", store, r.worker, r.attempt)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (pid %d) mid fan-out", name, pid)
	if err := hold.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out, err := c.script(t, "start", "--workers", "2", "--apis", "2"); err != nil || !strings.Contains(out, name+" started") {
		t.Fatalf("re-run of start did not restart %s: %v\n%s", name, err, out)
	}

	var view struct {
		Status  string
		Outcome struct{ Changed []string }
	}
	waitUntil(t, "completed request", 3*time.Minute, func() bool {
		switch code := send(t, http.MethodGet, c.apis[0]+"/api/v1/requests/"+intake.ID, intake.StatusToken, nil, &view); code {
		case http.StatusOK:
			return view.Status == "completed"
		case http.StatusServiceUnavailable:
			// The killed worker held the workflow; a query waits for it to move, and the API
			// answers "try again shortly" meanwhile.
			return false
		default:
			t.Fatalf("status view: %d", code)
			return false
		}
	})

	for _, s := range []struct{ dsn, table, flag, store string }{
		{crmDSN, "customers", "newsletter", "crm"}, {billingDSN, "accounts", "share_with_affiliates", "billing"},
	} {
		got := readStore(t, s.dsn, s.table, s.flag, intake.ID)
		want := storeState{personFlag: false, bystanderFlag: true, personUpdates: 1, bystanderUpdates: 0, bookkeeping: 1}
		if got != want {
			t.Errorf("%s after the request: %+v, want %+v (the person's row changed once, nobody else's)", s.store, got, want)
		}
	}
	keys, applied := newsletter.seen()
	key := webhook.IdempotencyKey(intake.ID, "restrict", "newsletter")
	if len(keys) < 2 {
		t.Errorf("the newsletter service saw %d attempt(s), want the killed one and a retry", len(keys))
	}
	for i, k := range keys {
		if k != key {
			t.Errorf("attempt %d carried idempotency key %q, want %q", i+1, k, key)
		}
	}
	if applied[key] != 1 || len(applied) != 1 {
		t.Errorf("the newsletter service applied %v, want its one key once", applied)
	}
	var results int
	if err := app.QueryRow(t.Context(), `SELECT count(*) FROM store_results WHERE request_id = $1`, intake.ID).Scan(&results); err != nil {
		t.Fatal(err)
	}
	if results != 3 {
		t.Errorf("%d store results recorded, want one per store", results)
	}
	_, retried := tc.runStores(t, workflowID)
	if retried["newsletter"] < 2 {
		t.Errorf("the newsletter activity ran %d time(s), want a retry after the kill", retried["newsletter"])
	}
	t.Logf("attempts per store: %v; outcome changed %v", retried, view.Outcome.Changed)
}
