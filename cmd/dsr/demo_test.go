package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/internal/testenv"
)

// completeTask waits for the open manual task of a request and completes it through the staff
// API with result, as a member of the privacy team would after working the paper archive.
func completeTask(t *testing.T, base, staffToken, requestID string, result map[string]any) {
	t.Helper()
	id := requestID + ":" + demo.PaperArchiveStore
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var list api.TaskList
		if code := call(t, http.MethodGet, base+"/api/v1/admin/tasks?status=open", staffToken, nil, &list); code != http.StatusOK {
			t.Fatalf("task list: %d", code)
		}
		if slices.ContainsFunc(list.Tasks, func(task api.TaskView) bool { return task.ID == id }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no open task %s within a minute", id)
		}
	}
	var done json.RawMessage
	if code := call(t, http.MethodPost, base+"/api/v1/admin/tasks/"+url.PathEscape(id)+"/complete", staffToken,
		map[string]any{"result": result, "note": "checked the box files"}, &done); code != http.StatusOK {
		t.Fatalf("complete task %s: %d %s", id, code, done)
	}
}

var devAdminTokenLine = regexp.MustCompile(`Dev admin token\s+(\S+)`)

// devStack starts `dsr dev` in a fresh data directory and returns its base URL, admin
// token and data directory.
func devStack(t *testing.T) (base, adminToken, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	httpPort := freePort(t)
	p := start(t, "dev", "--data-dir", dataDir, "--http", "127.0.0.1:"+httpPort,
		"--temporal-port", freePort(t), "--ui-port", "0", "--log-level", "warn")
	base = "http://127.0.0.1:" + httpPort
	waitReady(t, p, base)
	m := devAdminTokenLine.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no dev admin token in the output:\n%s", p.out)
	}
	return base, m[1], dataDir
}

// devCode returns the verification code mailed for a request to the dev mailbox.
func devCode(t *testing.T, base, email, requestID string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var mails []api.DevMail
		call(t, http.MethodGet, base+"/api/v1/dev/mail?to="+url.QueryEscape(email), "", nil, &mails)
		for _, m := range mails {
			if m.Subject == "Your verification code" && strings.Contains(m.Text, requestID) {
				if code := codeInMail.FindStringSubmatch(m.Text); code != nil {
					return code[1]
				}
			}
		}
	}
	t.Fatalf("no code mailed for request %s", requestID)
	return ""
}

// devMailTitled waits for the dev mailbox of to to hold a message titled subject.
func devMailTitled(t *testing.T, base, to, subject string) api.DevMail {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var mails []api.DevMail
		call(t, http.MethodGet, base+"/api/v1/dev/mail?to="+url.QueryEscape(to), "", nil, &mails)
		for _, m := range mails {
			if m.Subject == subject {
				m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
				return m
			}
		}
	}
	t.Fatalf("no mail titled %q", subject)
	return api.DevMail{}
}

// demoRequest runs one request of the demo person through `dsr dev` to completion: the
// mailed code, her data points, and the paper archive's task completed by staff. It
// returns the request's report and its final status view.
func demoRequest(t *testing.T, base, staffToken, typ string, details map[string]any, archive map[string]any) (api.Report, api.RequesterView) {
	t.Helper()
	ada := demo.Ada()
	var intake api.IntakeAnswer
	if code := call(t, http.MethodPost, base+"/api/v1/requests", "", map[string]any{"type": typ, "email": ada.Email,
		"jurisdiction": "gdpr", "details": details}, &intake); code != http.StatusAccepted {
		t.Fatalf("intake: %d %+v", code, intake)
	}
	var verified api.VerifyAnswer
	call(t, http.MethodPost, base+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken,
		map[string]string{"code": devCode(t, base, ada.Email, intake.ID)}, &verified)
	if verified.Result != "confirmed" {
		t.Fatalf("verify: %+v", verified)
	}
	waitStatus(t, base, intake.ID, intake.StatusToken, "awaiting_identity_verification")
	var identity api.IdentityAnswer
	if code := call(t, http.MethodPost, base+"/api/v1/requests/"+intake.ID+"/identity", intake.StatusToken,
		map[string]any{"answers": ada.DataPoints}, &identity); code != http.StatusOK || !identity.Verified {
		t.Fatalf("identity: %d %+v", code, identity)
	}
	completeTask(t, base, staffToken, intake.ID, archive)
	view := waitStatus(t, base, intake.ID, intake.StatusToken, "completed")
	var report api.Report
	if code := call(t, http.MethodGet, base+"/api/v1/requests/"+intake.ID+"/report", intake.StatusToken, nil, &report); code != http.StatusOK {
		t.Fatalf("report: %d", code)
	}
	return report, view
}

// demoSQLStores lists the demo data map's sql stores.
func demoSQLStores(t *testing.T) []datamap.Store {
	t.Helper()
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	var out []datamap.Store
	for _, s := range m.Stores {
		if s.Kind == datamap.KindSQL {
			out = append(out, s)
		}
	}
	return out
}

// adaRows counts, straight from each store's database, the rows keyed to the demo person.
func adaRows(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	target, err := demo.ParseTarget("sqlite:" + filepath.Join(dataDir, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, s := range demoSQLStores(t) {
		db, err := sqlstore.OpenDB(context.Background(), target.Connection(s.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range s.Tables {
			if table.Identity == "" {
				continue
			}
			out[s.Name+"."+table.Name] = countRows(t, db, "SELECT COUNT(*) FROM "+table.Name+" WHERE "+table.Identity+" = ?", demo.Ada().Email)
		}
		if s.Name == "webstore" {
			out["webstore.order_lines"] = countRows(t, db, `SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.order_number = l.order_number
				WHERE o.customer_email = ?`, demo.Ada().Email)
			out["webstore.orders DEMO-70002"] = countRows(t, db, "SELECT COUNT(*) FROM orders WHERE order_number = 'DEMO-70002'")
		}
		db.Close()
	}
	desk, err := sqlstore.OpenDB(context.Background(), target.Connection(demo.SupportDeskStore))
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	out["support-desk.tickets"] = countRows(t, desk, "SELECT COUNT(*) FROM tickets WHERE email = ?", demo.Ada().Email)
	return out
}

func countRows(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// recordsOf returns the record tables of a report by their labels.
func recordsOf(r api.Report) map[string]requests.RecordTable {
	out := map[string]requests.RecordTable{}
	for _, c := range r.Categories {
		for _, t := range c.Records {
			out[t.Label] = t
		}
	}
	return out
}

// The acceptance check in `dsr dev`: a review of the demo person lists records from
// every store; a suppression leaves only the records under retention, as her stores'
// databases show; and a new review shows exactly those.
func TestDevDemoPersonReviewSuppressReview(t *testing.T) {
	base, token, dataDir := devStack(t)
	everyStore := []string{demo.PaperArchiveStore, demo.SupportDeskStore}
	for _, s := range demoSQLStores(t) {
		everyStore = append(everyStore, s.Name)
	}
	slices.Sort(everyStore)

	first, _ := demoRequest(t, base, token, "review", nil, map[string]any{"found": []string{"name", "postal_address", "company"}})
	held := recordsOf(first)
	var tables []string
	for label := range held {
		tables = append(tables, label)
	}
	slices.Sort(tables)
	// One record table per demo table holding Ada's data, and the support desk's tickets.
	want := []string{"Items you ordered", "Pages you recommended", "Pages you visited", "Recommendations sent to you",
		"Tickets", "Your account profile", "Your forum posts", "Your marketplace profile", "Your newsletter subscriptions",
		"Your orders", "Your prize-draw entries"}
	if !slices.Equal(tables, want) {
		t.Fatalf("first review shows records %v, want %v", tables, want)
	}
	if raw, _ := json.Marshal(held["Your orders"]); !strings.Contains(string(raw), "DEMO-70001") || !strings.Contains(string(raw), "DEMO-70002") {
		t.Errorf("first review's orders: %s", raw)
	}
	if raw, _ := json.Marshal(first.Categories); !strings.Contains(string(raw), `"Company"`) {
		t.Errorf("first review lacks what the paper archive holds: %s", raw)
	}
	// The worker names what was found in the completion mail by the data map's labels, as
	// the report does.
	done := devMailTitled(t, base, demo.Ada().Email, "Your privacy request "+first.RequestID+" is complete")
	if !strings.Contains(done.Text, "- Newsletter subscriptions\n") || strings.Contains(done.Text, "newsletter_subscriptions") {
		t.Errorf("the completion mail does not name the data by its labels:\n%s", done.Text)
	}

	suppressed, suppressedView := demoRequest(t, base, token, "suppress", map[string]any{"scope": map[string]any{"all": true}},
		map[string]any{"found": []string{"name", "postal_address", "company"}, "changed": []string{"name", "postal_address", "company"}})
	if kept := suppressed.Retained; len(kept) != 1 || !strings.Contains(kept[0].What, "order DEMO-70002") {
		t.Errorf("suppression kept %v, want only the order DEMO-70002", kept)
	}
	// Both affiliates of the accounts store hear of it: the UK one by mail, the Norwegian
	// one by the signed webhook that dev serves. The requester sees that each was told; the
	// webhook's acknowledgement is for staff (the audit trail and the staff page).
	notified := map[string]string{}
	for _, r := range suppressedView.Recipients {
		notified[r.Name] = r.Status
	}
	if got, want := notified, (map[string]string{
		"Smith Micro Software UK Limited": "sent",
		"Smith Micro Software AS":         "sent",
	}); !maps.Equal(got, want) {
		t.Errorf("the suppression's status view lists recipients %v, want %v", got, want)
	}
	rows := adaRows(t, dataDir)
	for table, n := range rows {
		want := 0
		switch table {
		case "webstore.orders", "webstore.orders DEMO-70002":
			want = 1
		case "webstore.order_lines":
			want = 2
		}
		if n != want {
			t.Errorf("after suppression %s holds %d of Ada's rows, want %d", table, n, want)
		}
	}

	second, _ := demoRequest(t, base, token, "review", nil, map[string]any{"not_found": true})
	left := recordsOf(second)
	orders, lines := left["Your orders"], left["Items you ordered"]
	if len(left) != 2 || len(orders.Rows) != 1 || !slices.Contains(orders.Rows[0], "DEMO-70002") || len(lines.Rows) != rows["webstore.order_lines"] {
		t.Errorf("review after suppression shows %+v, want exactly order DEMO-70002 and its %d lines", left, rows["webstore.order_lines"])
	}
}

// demoTarget is a PostgreSQL demo target for production-shape processes; the schemas of
// its stores are dropped when the test ends.
func demoTarget(t *testing.T) string {
	t.Helper()
	pg := testenv.PostgresURL(t)
	target, err := demo.ParseTarget(pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := target.Remove(context.Background()); err != nil {
			t.Errorf("remove the demo company: %v", err)
		}
	})
	return pg
}
