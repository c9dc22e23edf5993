package api_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"gorm.io/gorm/logger"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// seedFrom stores an open request filed under an address, as intake files it.
func (h *harness) seedFrom(email string, typ domain.RequestType, status domain.Status) string {
	h.t.Helper()
	normalized, err := domain.NormalizeEmail(email)
	if err != nil {
		h.t.Fatal(err)
	}
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: typ, Jurisdiction: domain.JurisdictionGDPR, Status: status,
		Email: normalized, EmailHash: testSecret.EmailHash(normalized),
		ReceivedAt: h.now.AddDate(0, 0, -3), DueAt: h.now.AddDate(0, 0, 20), OriginalDueAt: h.now.AddDate(0, 0, 20), UpdatedAt: h.now,
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		h.t.Fatal(err)
	}
	return row.ID
}

// statements records every SQL statement the server runs, with its arguments in place.
type statements struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (s *statements) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	stmt, _ := fc()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, stmt)
}

func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sql
	s.sql = nil
	return out
}

// recordSQL makes the harness's database report every statement to the returned record.
func (h *harness) recordSQL() *statements {
	s := &statements{Interface: h.db.Logger}
	h.db.Logger = s
	h.t.Cleanup(func() { h.db.Logger = s.Interface })
	return s
}

func TestQueueSearchByAddressFindsRequestsByKeyedHashAndLogsWhoSearched(t *testing.T) {
	h := newHarness(t, false)
	mine := h.seedFrom("private.person@example.com", domain.TypeReview, domain.StatusPendingReview)
	other := h.seedFrom("someone.else@example.com", domain.TypeReview, domain.StatusPendingReview)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	sql := h.recordSQL()

	a := d.post("/admin/requests/filter", url.Values{"search": {"  Private.Person@EXAMPLE.com "}, "type": {"review"}}, true)
	location := a.header.Get("Location")
	hash := testSecret.EmailHash("private.person@example.com")
	if a.code != http.StatusSeeOther || location != "/admin/requests?email_hash="+hash+"&type=review" {
		t.Fatalf("search = %d to %q, want 303 to the queue by the address's keyed hash", a.code, location)
	}
	page := d.send(http.MethodGet, location, "", "")
	if page.code != http.StatusOK || !strings.Contains(page.body, mine) || strings.Contains(page.body, other) || !strings.Contains(page.body, `id="search-by-email"`) {
		t.Fatalf("queue by address = %d, want only that address's request", page.code)
	}
	byHash := 0
	for _, stmt := range sql.take() {
		if strings.Contains(strings.ToLower(stmt), "person@") {
			t.Errorf("a query holds the address in clear: %s", stmt)
		}
		if strings.Contains(stmt, "email_hash = \""+hash+"\"") || strings.Contains(stmt, "email_hash = '"+hash+"'") {
			byHash++
		}
	}
	if byHash == 0 {
		t.Error("no query looked the requests up by the keyed hash")
	}
	if strings.Contains(strings.ToLower(page.body), "private.person") {
		t.Error("the page shows the address searched for")
	}

	searches, err := h.requests.StaffSearches(t.Context(), 10)
	if err != nil || len(searches) != 1 {
		t.Fatalf("staff searches = %+v, %v; want the one search", searches, err)
	}
	if s := searches[0]; s.Actor != "carol" || s.Role != string(auth.RoleAnalyst) || s.Kind != requestdb.SearchByEmail || s.ActorID == "" || !s.At.Equal(h.now.Truncate(time.Microsecond)) {
		t.Errorf("search log = %+v, want carol's e-mail search, now", s)
	}

	// The JSON API takes the same link, and logs that search too; a plain list logs none.
	admin := h.token("dana", auth.RoleAdmin)
	if got := listIDs(h.list(admin, "?email_hash="+hash)); len(got) != 1 || got[0] != mine {
		t.Errorf("API list by hash = %v, want %s", got, mine)
	}
	h.list(admin, "?type=review")
	if searches, _ := h.requests.StaffSearches(t.Context(), 10); len(searches) != 2 || searches[0].Actor != "dana" && searches[1].Actor != "dana" {
		t.Errorf("staff searches = %+v, want carol's and dana's", searches)
	}

	bad := d.post("/admin/requests/filter", url.Values{"search": {"not an address"}}, true)
	if bad.code != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="f-search-error"`) {
		t.Errorf("search for neither an ID nor an address = %d, want 422 beside the box", bad.code)
	}
	if a := d.send(http.MethodGet, "/admin/requests?email_hash=private.person@example.com", "", ""); a.code != http.StatusUnprocessableEntity {
		t.Errorf("a clear address as the hash = %d, want 422", a.code)
	}
}

var tabPattern = regexp.MustCompile(`<a href="([^"]*)"( aria-current="page")? data-status="([a-z_]*)">[^<]*<span class="count">(\d+)</span>`)

func TestQueueTabsCountEachStatusInOneQuery(t *testing.T) {
	h := newHarness(t, false)
	h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 3, 10, "")
	h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 3, 10, "")
	h.seedRequest(domain.TypeReview, domain.StatusCompleted, 3, 10, "")
	h.seedRequest(domain.TypeSuppress, domain.StatusInProgress, 3, 10, "")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	sql := h.recordSQL()
	page := d.send(http.MethodGet, "/admin/requests?type=review&status=completed", "", "")
	if page.code != http.StatusOK {
		t.Fatalf("queue = %d", page.code)
	}
	counts, current := map[string]string{}, ""
	for _, m := range tabPattern.FindAllStringSubmatch(page.body, -1) {
		counts[m[3]] = m[4]
		if m[2] != "" {
			current = m[3]
		}
		if !strings.Contains(m[1], "type=review") {
			t.Errorf("tab %s links to %s, which drops the type filter", m[3], m[1])
		}
	}
	want := map[string]string{"": "3", "pending_review": "2", "completed": "1"}
	if len(counts) != len(want) || counts[""] != want[""] || counts["pending_review"] != want["pending_review"] || counts["completed"] != want["completed"] {
		t.Errorf("tabs = %v, want %v", counts, want)
	}
	if current != "completed" {
		t.Errorf("current tab = %q, want completed", current)
	}
	if !strings.Contains(page.body, "Waiting for review") {
		t.Error("the tabs do not name statuses in the privacy team's words")
	}
	grouped := 0
	for _, stmt := range sql.take() {
		if strings.Contains(stmt, "GROUP BY") {
			grouped++
		}
	}
	if grouped != 1 {
		t.Errorf("the page ran %d grouped counts, want 1", grouped)
	}
}

func TestQueueFiltersRoundTripThroughTheLink(t *testing.T) {
	h := newHarness(t, false)
	id := h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 3, 2, "carol")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	form := url.Values{
		"status": {"pending_review"}, "type": {"review"}, "due": {"week"}, "assignee": {" carol "},
		"sort": {"due"}, "search": {strings.ToUpper(id)}, "jurisdiction": {""},
	}
	if a := d.post("/admin/requests/filter", form, false); a.code != http.StatusForbidden {
		t.Errorf("filter without the CSRF token = %d, want 403", a.code)
	}
	a := d.post("/admin/requests/filter", form, true)
	if a.code != http.StatusSeeOther {
		t.Fatalf("filter = %d, want 303", a.code)
	}
	link, err := url.Parse(a.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"status": {"pending_review"}, "type": {"review"}, "due": {"week"}, "assignee": {"carol"}, "sort": {"due"}, "id": {id}}
	if link.Path != "/admin/requests" || link.Query().Encode() != want.Encode() {
		t.Fatalf("link = %s, want /admin/requests?%s", link, want.Encode())
	}
	page := d.send(http.MethodGet, link.String(), "", "")
	if page.code != http.StatusOK || !strings.Contains(page.body, `value="`+id+`" id="pick-`) {
		t.Fatalf("the shared link = %d, want the request listed", page.code)
	}
	for _, filled := range []string{
		`<option value="pending_review" selected>`, `<option value="review" selected>`, `<option value="week" selected>`,
		`<option value="due" selected>`, `id="f-assignee" value="carol"`, `id="f-search" value="` + id + `"`,
	} {
		if !strings.Contains(page.body, filled) {
			t.Errorf("the form from the link lacks %s", filled)
		}
	}
	if a := d.send(http.MethodGet, "/admin/requests?due=someday", "", ""); a.code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown due window = %d, want 422", a.code)
	}
	if got := listIDs(h.list(h.token("dana", auth.RoleAdmin), "?due=overdue")); len(got) != 0 {
		t.Errorf("due=overdue = %v, want none: the request is due in 2 days", got)
	}
}

func TestBulkDecisionWithNothingTickedStaysOnTheQueue(t *testing.T) {
	h := newHarness(t, false)
	h.open()
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	form := url.Values{"action": {"approve"}, "back": {"type=restrict&status=received&smuggled=1"}}
	a := d.post("/admin/requests/bulk", form, true)
	link, err := url.Parse(a.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"notice": {"none"}, "status": {"received"}, "type": {"restrict"}}
	if a.code != http.StatusSeeOther || link.Path != "/admin/requests" || link.Query().Encode() != want.Encode() {
		t.Fatalf("bulk with nothing ticked = %d to %s, want 303 to the same queue view", a.code, link)
	}
	page := d.send(http.MethodGet, link.String(), "", "")
	if page.code != http.StatusOK || !strings.Contains(page.body, `id="queue-notice"`) || !strings.Contains(page.body, "Tick at least one request") {
		t.Errorf("queue after an empty bulk decision = %d, want it to say to tick a request", page.code)
	}
	if n := len(h.engine.updates); n != 0 {
		t.Errorf("an empty bulk decision sent %d updates", n)
	}
}

func TestMetricsPageChartIsWellFormedSVGWithATable(t *testing.T) {
	h := newHarness(t, false)
	h.seedRequest(domain.TypeReview, domain.StatusCompleted, 11, 0, "")
	h.seedRequest(domain.TypeSuppress, domain.StatusDenied, 40, 0, "")
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	page := d.send(http.MethodGet, "/admin/metrics?from=2025-12-01&to=2026-04-01", "", "")
	if page.code != http.StatusOK {
		t.Fatalf("metrics page = %d", page.code)
	}
	start := strings.Index(page.body, "<svg xmlns")
	end := strings.Index(page.body[max(start, 0):], "</svg>")
	if start < 0 || end < 0 {
		t.Fatal("no chart on the metrics page")
	}
	chart := page.body[start : start+end+len("</svg>")]
	dec := xml.NewDecoder(strings.NewReader(chart))
	dec.Strict = true
	rects, titled := 0, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, chart)
		}
		if el, ok := tok.(xml.StartElement); ok {
			switch el.Name.Local {
			case "rect":
				rects++
			case "title":
				titled = true
			}
		}
	}
	if months := 4; rects != 3*months || !titled {
		t.Errorf("chart has %d bars and title %v, want 3 bars for each of %d months and a title", rects, titled, months)
	}
	for _, want := range []string{`id="metrics-by-month"`, `<th scope="row" data-label="Month">2026-02</th>`, `aria-labelledby="chart-title chart-desc"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("metrics page lacks %s", want)
		}
	}
}

func TestBrowserQueueBulkAndMetricsFitPhoneAndDesktop(t *testing.T) {
	h := newHarness(t, false)
	h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 3, 2, "carol")
	h.seedRequest(domain.TypeSuppress, domain.StatusNeedsAttention, 30, -1, "")
	h.seedRequest(domain.TypeChildErasure, domain.StatusCompleted, 20, 10, "")
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	token := h.token("carol", auth.RoleAnalyst)
	ctx := newBrowser(t, false)
	signInBrowser(t, ctx, srv.URL, token, "#queue")
	checkPage(t, ctx, "queue")
	browse(t, ctx,
		chromedp.Click(chromedp.CSS("#bulk-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue-notice")),
	)
	checkPage(t, ctx, "queue-notice")
	browse(t, ctx,
		chromedp.Click(chromedp.CSS(`#queue input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS("#bulk-submit")),
		chromedp.WaitVisible(chromedp.CSS("#bulk-outcomes")),
	)
	checkPage(t, ctx, "bulk")
	browse(t, ctx,
		chromedp.Navigate(srv.URL+"/admin/metrics?from=2025-10-01&to=2026-04-01"),
		chromedp.WaitVisible(chromedp.CSS("#metrics-chart")),
	)
	checkPage(t, ctx, "metrics")
}
