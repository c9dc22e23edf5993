package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
)

// norwegianDate is a day in words as the Norwegian catalogue writes it.
var norwegianDate = regexp.MustCompile(`\d{1,2}\. (januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|desember) \d{4}`)

// seedNorwegianReview is the demo person's completed review, made in Norwegian.
func seedNorwegianReview(t *testing.T, h *harness) string {
	t.Helper()
	id := seedDemoReview(t, h)
	if err := h.db.Exec("UPDATE requests SET language = ? WHERE id = ?", "nb", id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// A request made in Norwegian gets its report in Norwegian without asking: the JSON, the
// page and the portable copy, with the data map's Norwegian labels and dates in words.
func TestTheReportOfARequestMadeInNorwegianIsInNorwegian(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedNorwegianReview(t, h)

	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok")
	var report api.Report
	if err := json.Unmarshal([]byte(a.body), &report); a.code != http.StatusOK || err != nil {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	if report.Language != "nb" {
		t.Errorf("language = %q, want the request's", report.Language)
	}
	raw, _ := json.Marshal(report.Categories)
	for _, want := range []string{"Navnet ditt", "Bestillinger", "Nyhetsbrev", `"Ja"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the Norwegian report lacks %s: %s", want, raw)
		}
	}
	if !norwegianDate.Match(raw) {
		t.Errorf("the Norwegian report's records have no date in Norwegian words: %s", raw)
	}

	page := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html", "", "", "tok")
	if page.code != http.StatusOK {
		t.Fatalf("page = %d %s", page.code, page.body)
	}
	for _, want := range []string{`<html lang="nb"`, "<h1>Personvernrapporten din</h1>", "Dette har vi om deg", "Opplysninger vi ikke har",
		`>Last ned en kopi du kan ta med deg (ZIP)<`, `href="report.zip?lang=nb"`, ", fullført <time"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the Norwegian report page lacks %s", want)
		}
	}
	completed := regexp.MustCompile(`fullført <time[^>]*>([^<]*)</time>`).FindStringSubmatch(page.body)
	if completed == nil || !norwegianDate.MatchString(completed[1]) {
		t.Errorf("completion date = %q, want Norwegian words", completed)
	}
	for _, english := range []string{"Your privacy report", "What we hold about you", "Data we do not hold", "Card numbers show", ">Yes<", "Request <code>"} {
		if strings.Contains(page.body, english) {
			t.Errorf("the Norwegian report page says %q", english)
		}
	}

	files := unzipped(t, h.do(http.MethodGet, "/api/v1/requests/"+id+"/report.zip", "", "", "tok").body)
	readme := string(files["README.txt"])
	for _, want := range []string{"Personvernrapporten din: en kopi du kan ta med deg", "report.json: alt i rapporten din", "(Bestillinger); antall poster: "} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.txt lacks %q:\n%s", want, readme)
		}
	}
	if _, ok := files["bestillingene-dine.csv"]; !ok {
		t.Errorf("the copy has no CSV named after the Norwegian label: %v", readme)
	}
}

// ?lang= chooses the report's language over the request's, as on every requester page, and
// the switch on the report's page keeps the page a page.
func TestTheReportFollowsTheLanguageTheReaderChooses(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedNorwegianReview(t, h)
	page := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html&lang=en", "", "", "tok")
	if !strings.Contains(page.body, "<h1>Your privacy report</h1>") || !strings.Contains(page.body, `href="report.zip?lang=en"`) {
		t.Errorf("the report asked for in English is not:\n%s", page.body)
	}
	if !strings.Contains(page.body, `href="/api/v1/requests/`+id+`/report?format=html&amp;lang=nb"`) {
		t.Errorf("the language switch loses the page's query:\n%s", page.body)
	}
}

// The status page's outcome speaks the request's language, with the report's labels.
func TestTheStatusPageOutcomeOfARequestMadeInNorwegianIsInNorwegian(t *testing.T) {
	h, _ := demoReportHarness(t)
	id := seedNorwegianReview(t, h)
	a := h.send(http.MethodGet, "/requests/"+id, "", "", http.Header{"Cookie": {"dsr_status=tok"}})
	if a.code != http.StatusOK {
		t.Fatalf("status page = %d", a.code)
	}
	outcome := regexp.MustCompile(`(?s)<section aria-labelledby="outcome-h" id="outcome">.*?</section>`).FindString(a.body)
	for _, want := range []string{">Resultat<", ">Dette fant vi<", "<li>Navnet ditt</li>", "<li>Nyhetsbrev</li>", ">Les hele rapporten<", ">Last den ned som JSON<"} {
		if !strings.Contains(outcome, want) {
			t.Errorf("the outcome lacks %s:\n%s", want, outcome)
		}
	}
	for _, english := range []string{"Outcome", "What we found", "Read the full report", "Your name"} {
		if strings.Contains(outcome, english) {
			t.Errorf("the Norwegian outcome says %q", english)
		}
	}
}
