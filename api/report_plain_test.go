package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
)

// demoReportHarness is a report harness that names things by the demo company's data map.
func demoReportHarness(t *testing.T) (*harness, *datamap.Map) {
	t.Helper()
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	ring := newCodecRing(t)
	h := newHarness(t, false, func(o *api.Options) {
		o.Requests = o.Requests.WithResultKeys(ring)
		o.DataMaps = []*datamap.Map{m}
	})
	h.requests = h.requests.WithResultKeys(ring)
	return h, m
}

// seedDemoReview runs a review of the demo person Ada through the demo company's own SQL
// stores and saves each result, sealed, as the workflow does; the support desk and the
// paper archive answer as their services and staff would. It returns the request's ID,
// opened by the status token "tok".
func seedDemoReview(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	op := connector.Operation{RequestID: id, Type: domain.TypeReview, Email: demo.Ada().Email}
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL {
			continue
		}
		conn, db, err := sqlstore.Open(ctx, s, sqlstore.WithHashKey([]byte("test hash key, 32 bytes long!!!!")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r, err := conn.Apply(ctx, op)
		if err != nil {
			t.Fatalf("review in %s: %v", s.Name, err)
		}
		if err := h.requests.SaveStoreResult(ctx, id, s.Name, r); err != nil {
			t.Fatal(err)
		}
	}
	others := []connector.Result{
		{Store: demo.SupportDeskStore, Found: []string{"name", "support_tickets"}, Export: map[string]any{"tickets": []any{
			map[string]any{"subject": "My order has not arrived", "opened_at": "2024-02-03T10:00:00Z", "requester_name": "Ada Lovelace"}}}},
		{Store: demo.PaperArchiveStore, Found: []string{"name", "postal_address", "company"}},
	}
	for _, r := range others {
		if err := h.requests.SaveStoreResult(ctx, id, r.Store, r); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// internalNames are the demo map's names of stores, tables and columns.
func internalNames(m *datamap.Map) []string {
	var out []string
	for _, s := range m.Stores {
		out = append(out, s.Name)
		for _, tb := range s.Tables {
			out = append(out, tb.Name)
			out = append(out, tb.Review.Columns...)
			for _, c := range tb.PII {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

var headings = regexp.MustCompile(`<h[1-3][^>]*>([^<]*)</h[1-3]>`)

// The acceptance check of the plain-words report: the demo person's report names each
// kind of data once, by its label, with her records under it; no store, table or column
// name appears as a heading or a JSON key or value; money, flags and dates read as words.
func TestTheDemoPersonsReportIsInPlainWordsByKindOfData(t *testing.T) {
	h, m := demoReportHarness(t)
	id := seedDemoReview(h.t, h)

	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok")
	if a.code != http.StatusOK {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	var report api.Report
	if err := json.Unmarshal([]byte(a.body), &report); err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, c := range report.Categories {
		if slices.Contains(labels, c.Label) {
			t.Errorf("category %q is listed twice", c.Label)
		}
		labels = append(labels, c.Label)
	}
	for _, want := range []string{"Your name", "Orders", "Payment card", "Newsletter subscriptions", "Support requests", "Company"} {
		if !slices.Contains(labels, want) {
			t.Errorf("categories %v lack %q", labels, want)
		}
	}
	for _, name := range internalNames(m) {
		// Records are rows of values under labelled columns: a name can only leak as a value.
		if regexp.MustCompile(`"` + regexp.QuoteMeta(name) + `"[^:]`).MatchString(a.body) {
			t.Errorf("the JSON report names %q", name)
		}
	}
	for _, want := range []string{"£", `"Yes"`, "DEMO-70001", "Ada"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the JSON report lacks %s", want)
		}
	}
	if len(report.HeldElsewhere) != 1 {
		t.Errorf("held elsewhere = %v, want the payment note once", report.HeldElsewhere)
	}

	page := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html", "", "", "tok")
	if page.code != http.StatusOK {
		t.Fatalf("page = %d %s", page.code, page.body)
	}
	seen := map[string]bool{}
	for _, hd := range headings.FindAllStringSubmatch(page.body, -1) {
		text := hd[1]
		if slices.Contains(internalNames(m), text) || seen[text] {
			t.Errorf("heading %q is an internal name or appears twice", text)
		}
		seen[text] = true
	}
	for _, name := range internalNames(m) {
		if strings.ContainsAny(name, "_-") && strings.Contains(page.body, name) {
			t.Errorf("the page names %q", name)
		}
	}
	if n := strings.Count(page.body, "held by the payment service"); n != 1 {
		t.Errorf("the payment note appears %d times, want once", n)
	}
	for _, leak := range []string{"T00:00:00Z", "0001-01-01", "January 0001", `data-label="Receiving e-mail">1<`, `data-label="Receiving e-mail">0<`} {
		if strings.Contains(page.body, leak) {
			t.Errorf("the page shows a raw value %q", leak)
		}
	}
	for _, want := range []string{`data-label="Total">£`, `data-label="Price">£`, `data-label="Receiving e-mail">Yes<`, `data-label="Ordered on">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestTheReportReadsTheDataMapsLabelsInTheAskedLanguage(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedDemoReview(h.t, h)
	var report api.Report
	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?lang=nb", "", "", "tok")
	if err := json.Unmarshal([]byte(a.body), &report); a.code != http.StatusOK || err != nil {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	raw, _ := json.Marshal(report.Categories)
	for _, want := range []string{"Bestillinger", "Bestillingene dine", "Ordrenummer", "Navnet ditt"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the Norwegian report lacks %q: %s", want, raw)
		}
	}
	if report.Language != "nb" {
		t.Errorf("language = %q", report.Language)
	}
}

// The status page's outcome names each kind of data once, by its label.
func TestTheStatusPageOutcomeNamesEachKindOfDataOnce(t *testing.T) {
	h, m := demoReportHarness(t)
	id := seedDemoReview(h.t, h)
	a := h.send(http.MethodGet, "/requests/"+id, "", "", http.Header{"Cookie": {"dsr_status=tok"}})
	if a.code != http.StatusOK {
		t.Fatalf("status page = %d", a.code)
	}
	found := regexp.MustCompile(`(?s)<ul id="found">(.*?)</ul>`).FindStringSubmatch(a.body)
	if found == nil {
		t.Fatalf("the status page lists nothing found:\n%s", a.body)
	}
	items := regexp.MustCompile(`<li>([^<]*)</li>`).FindAllStringSubmatch(found[1], -1)
	var got []string
	for _, it := range items {
		if slices.Contains(got, it[1]) || slices.Contains(internalNames(m), it[1]) {
			t.Errorf("what we found lists %q twice or by its internal name", it[1])
		}
		got = append(got, it[1])
	}
	if !slices.Contains(got, "Your name") || !slices.Contains(got, "Visits to our web sites") {
		t.Errorf("what we found = %v", got)
	}
	if !strings.Contains(a.body, `href="/requests/`+id+`/report.zip"`) {
		t.Error("the status page has no link to the portable copy")
	}
}

// portableCopy unpacks a downloaded ZIP into its files.
func unzipped(t *testing.T, body string) map[string][]byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	return files
}

func TestThePortableCopyHoldsJSONACSVPerTableAndAReadme(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedDemoReview(h.t, h)
	// A store outside the map that exports a full card number and cells a spreadsheet
	// would run as formulas.
	err := h.requests.SaveStoreResult(context.Background(), id, "legacy", connector.Result{Store: "legacy", Found: []string{"order_history"},
		Export: map[string]any{"old_orders": []any{map[string]any{"card": "4111 1111 1111 1111", "note": "=HYPERLINK(\"http://evil.example\")",
			"a": "+1", "b": "-2", "c": "@SUM(A1)"}}}})
	if err != nil {
		t.Fatal(err)
	}

	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report.zip", "", "", "tok")
	if a.code != http.StatusOK || a.header.Get("Content-Type") != "application/zip" || a.header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(a.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("portable copy = %d %v", a.code, a.header)
	}
	files := unzipped(t, a.body)
	var report api.Report
	if err := json.Unmarshal(files["report.json"], &report); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	readme := string(files["README.txt"])
	tables := 0
	for _, c := range report.Categories {
		tables += len(c.Records)
	}
	var csvs []string
	for name, body := range files {
		if strings.Contains(string(body), "4111 1111") {
			t.Errorf("%s shows a full card number", name)
		}
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		csvs = append(csvs, name)
		if !strings.Contains(readme, name) {
			t.Errorf("README.txt does not say what %s holds", name)
		}
		if _, err := csv.NewReader(bytes.NewReader(body)).ReadAll(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if tables == 0 || len(csvs) != tables || len(files) != tables+2 {
		t.Errorf("files %d (CSV %v), want report.json, README.txt and one CSV for each of %d tables", len(files), csvs, tables)
	}
	rows, err := csv.NewReader(bytes.NewReader(files["old-orders.csv"])).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("old-orders.csv = %q, %v", files["old-orders.csv"], err)
	}
	for _, want := range []string{"'+1", "'-2", "'@SUM(A1)", `'=HYPERLINK("http://evil.example")`, "**** 1111"} {
		if !slices.Contains(rows[1], want) {
			t.Errorf("old-orders.csv row %q lacks %q", rows[1], want)
		}
	}
	orders, err := csv.NewReader(bytes.NewReader(files["your-orders.csv"])).ReadAll()
	if err != nil || len(orders) < 2 || !slices.Contains(orders[0], "Order number") || !regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(orders[1][slices.Index(orders[0], "Ordered on")]) {
		t.Errorf("your-orders.csv = %q, want labelled columns and ISO dates", orders)
	}
}

func TestThePortableCopyOpensOnlyAsTheReportDoes(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedDemoReview(h.t, h)
	path := "/api/v1/requests/" + id + "/report.zip"
	for _, token := range []string{"", "other"} {
		if a := h.do(http.MethodGet, path, "", "", token); a.code != http.StatusUnauthorized || strings.Contains(a.body, "ada") {
			t.Errorf("portable copy with token %q = %d %s, want 401", token, a.code, a.body)
		}
	}
	expires := h.now.Add(time.Hour).Truncate(time.Second)
	link := strings.Replace(reportLink(h, id, expires), "/report?", "/report.zip?", 1)
	if a := h.do(http.MethodGet, link, "", "", ""); a.code != http.StatusOK || a.header.Get("Content-Type") != "application/zip" {
		t.Errorf("portable copy by the mailed link = %d", a.code)
	}
	if a := h.do(http.MethodGet, strings.Replace(link, "signature=", "signature=x", 1), "", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("portable copy by a tampered link = %d, want 401", a.code)
	}
	if a := h.send(http.MethodGet, "/requests/"+id+"/report.zip", "", "", http.Header{"Cookie": {"dsr_status=tok"}}); a.code != http.StatusOK {
		t.Errorf("portable copy by the status page's cookie = %d", a.code)
	}
	open := h.seedWithToken(domain.StatusInProgress, "tok-open")
	if a := h.do(http.MethodGet, "/api/v1/requests/"+open+"/report.zip", "", "", "tok-open"); a.code != http.StatusConflict {
		t.Errorf("portable copy of an unfinished request = %d, want 409", a.code)
	}
	// The page links to the copy the way it was opened: by the signed link's query.
	page := h.do(http.MethodGet, strings.Replace(link, "/report.zip?", "/report?format=html&", 1), "", "", "")
	if !strings.Contains(page.body, `href="report.zip?expires=`) {
		t.Errorf("the report page opened by the mailed link does not link to the copy with it")
	}
}

// No page of the report is wider than the screen, on a phone or a laptop, or fails axe:
// the report, the status page's outcome, by the mailed links.
func TestBrowserReportAndOutcomeFitTheScreen(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedDemoReview(h.t, h)
	// Kept records, with a long reason, show how the retention table fits.
	if err := h.requests.SaveStoreResult(context.Background(), id, "archive", connector.Result{Store: "archive", Found: []string{"order_history"},
		Retained: []connector.Retention{
			{What: "order DEMO-70002 of 2026-05-20", Reason: "Tax and accounting records kept 7 years from the order date (GDPR Art. 17(3)(b), legal obligation)", Until: time.Date(2033, 5, 20, 0, 0, 0, 0, time.UTC)},
			{What: "order DEMO-30001", Reason: "Kept while a chargeback dispute about the order is open (GDPR Art. 17(3)(e), legal claims)"}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	h.now = time.Now() // the browser follows the links in real time
	report := srv.URL + reportLink(h, id, time.Now().Add(time.Hour).Truncate(time.Second))
	status := srv.URL + "/requests/" + id + "?k=" + testSecret.StatusLinkKey(id)
	// The status link's key is swapped for a cookie by a redirect to the bare page, so
	// the Norwegian status page is asked for after it.
	browser := newBrowser(t, false)
	for _, page := range []struct {
		name  string
		links []string
		text  string
	}{
		{"report", []string{report}, "Your name"},
		{"status", []string{status}, "Your name"},
		{"report-nb", []string{report + "&lang=nb"}, "Navnet ditt"},
		{"status-nb", []string{status, srv.URL + "/requests/" + id + "?lang=nb"}, "Navnet ditt"},
	} {
		ctx := newTab(t, browser)
		for _, link := range page.links {
			browse(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main")))
		}
		if text := pageText(ctx); !strings.Contains(text, "Ada") && strings.HasPrefix(page.name, "report") || !strings.Contains(text, page.text) {
			t.Errorf("the %s page shows:\n%s", page.name, text)
		}
		checkPage(t, ctx, "plain-"+page.name)
	}
}
