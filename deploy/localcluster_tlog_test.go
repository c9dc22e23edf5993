package deploy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

// writeCRMDataMap describes the crm store alone.
func writeCRMDataMap(t *testing.T) string {
	t.Helper()
	return writeDataMapFile(t, "stores:\n"+crmStore)
}

// logRequest is one request of the test as its requester holds it.
type logRequest struct {
	ID          string
	StatusToken string `json:"status_token"`
	email       string
}

// The proof (issue 17): on the script's cluster, six requests wait for their
// mailbox codes; the log's head row is then locked, so that the email_verified steps stop
// inside their transactions, after their audit events are written and before they commit.
// The worker whose database connection waits there is SIGKILLed and restarted. Every request then
// completes with each milestone in the transparency log exactly once, matching the audit
// trail; the log verifies with the monitor, extends the checkpoint seen before the kill,
// and is cosigned by a witness that both api processes push to.
func TestLocalClusterLogsEachMilestoneOnceAcrossAWorkerKill(t *testing.T) {
	crmDSN := testenv.PostgresURL(t)
	storeSchema(t, crmDSN, "customers", "newsletter")
	secretHex, publicURL := randomHex(t, 32), "http://privacy.lc.test"
	secret, err := keys.ParseSecret(secretHex)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := tlog.VerifierKey(secret, tlog.Origin(publicURL))
	if err != nil {
		t.Fatal(err)
	}
	witnessKey, witnessURL := startLogWitness(t, logKey)
	smtp := smtptest.Start(t)
	c := startCluster(t,
		"DSR_DATA_MAP="+writeCRMDataMap(t), "LC_TEST_CRM_DSN="+crmDSN,
		"DSR_SMTP_HOST="+smtp.Host(), "DSR_SMTP_PORT="+strconv.Itoa(smtp.Port()), "DSR_SMTP_TLS=none",
		"DSR_SECRET_KEY="+secretHex, "DSR_PUBLIC_URL="+publicURL,
		"DSR_LOG_WITNESSES="+witnessKey+" "+witnessURL,
	)
	tc := dialEngine(t, c)
	monitor := tlog.Monitor{BaseURL: c.apis[1], VerifierKey: logKey}

	var requests []logRequest
	codes := map[string]string{}
	for i := range 6 {
		r := logRequest{email: fmt.Sprintf("lc%d@example.com", i)}
		if code := post(t, c.apis[i%2]+"/api/v1/requests", "", map[string]any{"type": "restrict", "email": r.email,
			"details": map[string]any{"limits": []string{"marketing_email"}}}, &r); code != http.StatusAccepted {
			t.Fatalf("intake %d: %d", i, code)
		}
		requests = append(requests, r)
	}
	for _, r := range requests {
		m := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(smtp.WaitFor(t, r.email, time.Minute).Text)
		if m == nil {
			t.Fatalf("no code in the mail to %s", r.email)
		}
		codes[r.ID] = m[1]
	}
	before, err := monitor.Check(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}

	app := connect(t, c.setting("DATABASE_URL"))
	hold, err := app.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.Background())
	if _, err := hold.Exec(t.Context(), `SELECT size FROM tlog_head WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	for i, r := range requests {
		var answer map[string]any
		if status := post(t, c.apis[i%2]+"/api/v1/requests/"+r.ID+"/verify", r.StatusToken, map[string]string{"code": codes[r.ID]}, &answer); status != http.StatusOK {
			t.Fatalf("verify %s: %d %v", r.ID, status, answer)
		}
	}
	// Mid-milestone: a worker's step (a local activity of the workflow task, as requests
	// record their steps in batches) waits on the log's head inside its transaction.
	var pid int
	var name string
	waitUntil(t, "a milestone step waiting on the log", time.Minute, func() bool {
		rows, err := app.Query(t.Context(), `SELECT client_port FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE '%tlog_head%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var port int
			if err := rows.Scan(&port); err != nil {
				t.Fatal(err)
			}
			for p, n := range c.workerPIDs(t) {
				if holdsLocalPort(t, p, port) {
					pid, name = p, n
					return true
				}
			}
		}
		return false
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (pid %d) while it appended a milestone", name, pid)
	if err := hold.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out, err := c.script(t, "start", "--workers", "2", "--apis", "2"); err != nil || !strings.Contains(out, name+" started") {
		t.Fatalf("re-run of start did not restart %s: %v\n%s", name, err, out)
	}

	for _, r := range requests {
		waitUntil(t, "request "+r.ID+" completed", 4*time.Minute, func() bool {
			var view struct{ Status string }
			switch code := send(t, http.MethodGet, c.apis[0]+"/api/v1/requests/"+r.ID, r.StatusToken, nil, &view); code {
			case http.StatusOK:
				return view.Status == "completed"
			case http.StatusServiceUnavailable:
				return false
			default:
				t.Fatalf("status of %s: %d", r.ID, code)
				return false
			}
		})
	}

	// Each milestone of the audit trail is in the log once, and the log holds nothing else.
	logged := 0
	for _, r := range requests {
		audited, inLog := map[tlog.Milestone]int{}, map[tlog.Milestone]int{}
		rows, err := app.Query(t.Context(), `SELECT action FROM audit_events WHERE request_id = $1`, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var action string
			if err := rows.Scan(&action); err != nil {
				t.Fatal(err)
			}
			if m, ok := tlog.MilestoneOf(action); ok {
				audited[m]++
			}
		}
		rows.Close()
		hash := tlog.RequestHash(tlog.RequestSecret(secret, r.ID), r.ID)
		rows, err = app.Query(t.Context(), `SELECT milestone FROM tlog_entries WHERE request_hash = $1`, hash)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			inLog[tlog.Milestone(m)]++
			logged++
		}
		rows.Close()
		for _, m := range []tlog.Milestone{tlog.Received, tlog.EmailVerified, tlog.Completed} {
			if inLog[m] != 1 || audited[m] != 1 {
				t.Errorf("request %s: %s is in the log %d time(s) and in the audit trail %d time(s), want once each", r.ID, m, inLog[m], audited[m])
			}
		}
		if fmt.Sprint(inLog) != fmt.Sprint(audited) {
			t.Errorf("request %s: the log holds %v, the audit trail %v", r.ID, inLog, audited)
		}
	}
	var size int
	if err := app.QueryRow(t.Context(), `SELECT size FROM tlog_head WHERE id = 1`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != logged {
		t.Errorf("the log has %d entries, %d of them the requests' milestones", size, logged)
	}
	retried := 0
	for _, r := range requests {
		retried += timedOutWorkflowTasks(t, tc, r.ID)
	}
	if retried == 0 {
		t.Error("no workflow task timed out: the kill hit no step in flight")
	}

	// The whole log verifies from outside, extends what was seen before the kill, and the
	// witness cosigned it once the api processes pushed the final checkpoint.
	var after tlog.Observation
	cosigned := tlog.Monitor{BaseURL: c.apis[0], VerifierKey: logKey, WitnessKeys: []string{witnessKey}}
	waitUntil(t, "the witness's cosignature of the final checkpoint", time.Minute, func() bool {
		after, err = cosigned.Check(t.Context(), before.Signed)
		return err == nil && after.Checkpoint.Size == uint64(size)
	})
	t.Logf("%d entries, %d workflow task(s) timed out after the kill; cosigned by %s at %s", size, retried,
		after.Cosignatures[0].Witness, after.Cosignatures[0].At)
}

// startLogWitness serves a witness of the log over HTTP and returns its key and URL.
func startLogWitness(t *testing.T, logKey string) (string, string) {
	t.Helper()
	skey, err := tlog.NewWitnessKey("witness.lc.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := tlog.NewWitness(skey, logKey, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return w.VerifierKey(), srv.URL
}

// holdsLocalPort says whether process pid has a TCP socket bound to the local port, read
// from /proc: the worker's end of a database connection the server lists by client_port.
func holdsLocalPort(t *testing.T, pid, port int) bool {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false // the process is gone
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	for _, table := range []string{"tcp", "tcp6"} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port && inodes[f[9]] {
				return true
			}
		}
	}
	return false
}

// timedOutWorkflowTasks counts the request's workflow tasks that timed out: the ones a
// killed worker held.
func timedOutWorkflowTasks(t *testing.T, e engine, requestID string) int {
	t.Helper()
	n := 0
	it := e.GetWorkflowHistory(t.Context(), "dsr-"+requestID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT {
			n++
		}
	}
	return n
}
