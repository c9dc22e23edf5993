package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// seedReview stores a completed review with an orders store that keeps one order for tax
// law and notes that the payment service holds the card, and a correction's old values.
func seedReview(h *harness) string {
	h.t.Helper()
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	err := h.requests.SaveStoreResult(context.Background(), id, "shop", connector.Result{
		Store: "shop", Found: []string{"contact_details", "orders"},
		Export: map[string]any{
			"customers": []any{map[string]any{"name": "Sam Example", "postal_code": "BS1 4DJ"}},
			"orders": []any{
				map[string]any{"number": "DEMO-1", "card": "4111 1111 1111 1111"},
				map[string]any{"number": "DEMO-2", "card_last4": "4242"},
			},
		},
		Retained: []connector.Retention{{What: "order DEMO-1", Reason: "Tax law (GDPR Art. 17(3)(b))", Until: time.Date(2031, 4, 5, 0, 0, 0, 0, time.UTC)}},
		Notes:    []string{"Full card numbers are collected and held by the payment service, not by us; we keep only the last 4 digits."},
		Before:   []connector.PriorValue{{Table: "customers", Field: "phone", Value: "+44 117 000 0000"}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// reportLink is the link the completion mail carries, signed as the worker signs it.
func reportLink(h *harness, id string, expires time.Time) string {
	q := url.Values{"format": {"html"}, "expires": {strconv.FormatInt(expires.Unix(), 10)},
		"signature": {testSecret.ReportLinkSignature(id, expires)}}
	return "/api/v1/requests/" + id + "/report?" + q.Encode()
}

func TestReportPageShowsEachTableRetentionAndWhatThePaymentProviderHolds(t *testing.T) {
	h := newReportHarness(t)
	id := seedReview(h)
	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html", "", "", "tok")
	if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page = %d %s", a.code, a.header.Get("Content-Type"))
	}
	if a.header.Get("Content-Security-Policy") == "" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("page headers = %v", a.header)
	}
	for _, want := range []string{
		`-h">Customers</h3>`, `-h">Orders</h3>`, "Sam Example", "DEMO-2",
		"**** 1111", "order DEMO-1", "Tax law (GDPR Art. 17(3)(b))", "5 April 2031",
		"Data we do not hold", "held by the payment service, not by us",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, leak := range []string{"4111 1111", "+44 117", "shop", "customers", "postal_code", "card_last4"} {
		if strings.Contains(a.body, leak) {
			t.Errorf("page shows %q", leak)
		}
	}
	if j := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok"); strings.Contains(j.body, "+44 117") || strings.Contains(j.body, "before") {
		t.Errorf("the JSON report carries a correction's old values: %s", j.body)
	}
}

func TestMailedReportLinkOpensWithoutTheTokenUntilItExpires(t *testing.T) {
	h := newReportHarness(t)
	id := seedReview(h)
	expires := h.now.Add(7 * 24 * time.Hour).Truncate(time.Second)
	link := reportLink(h, id, expires)
	if a := h.do(http.MethodGet, link, "", "", ""); a.code != http.StatusOK || !strings.Contains(a.body, "Sam Example") {
		t.Fatalf("link = %d %s", a.code, a.body)
	}
	json := strings.Replace(link, "format=html", "format=json", 1)
	if a := h.do(http.MethodGet, json, "", "", ""); a.code != http.StatusOK || !strings.Contains(a.body, `"request_id":"`+id+`"`) {
		t.Errorf("link as JSON = %d %s", a.code, a.body)
	}

	later := strings.Replace(json, strconv.FormatInt(expires.Unix(), 10), strconv.FormatInt(expires.Add(time.Hour).Unix(), 10), 1)
	if a := h.do(http.MethodGet, later, "", "", ""); a.code != http.StatusUnauthorized || a.errorBody(t).Code != "report_link_invalid" {
		t.Errorf("link with a later expiry = %d %s, want 401 report_link_invalid", a.code, a.body)
	}
	other := h.seedWithToken(domain.StatusCompleted, "tok2")
	if a := h.do(http.MethodGet, strings.Replace(json, id, other, 1), "", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("link moved to another request = %d, want 401", a.code)
	}

	h.now = expires
	a := h.do(http.MethodGet, json, "", "", "")
	if a.code != http.StatusGone || a.errorBody(t).Code != "report_link_expired" || !strings.Contains(a.body, "expired on") {
		t.Errorf("expired link = %d %s, want 410 report_link_expired", a.code, a.body)
	}
	if a := h.do(http.MethodGet, link, "", "", ""); a.code != http.StatusGone {
		t.Errorf("expired link as a page = %d %s", a.code, a.body)
	}
	if a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok"); a.code != http.StatusOK {
		t.Errorf("the status token still opens the report: %d", a.code)
	}
}

// A record under a legal hold, such as a chargeback dispute, has no end date: every view
// says it is kept until the hold is lifted and none shows the zero time.
func TestAHoldWithoutAnEndDateIsKeptUntilItIsLifted(t *testing.T) {
	h := newReportHarness(t)
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	err := h.requests.SaveStoreResult(context.Background(), id, "shop", connector.Result{
		Store: "shop", Found: []string{"orders"},
		Retained: []connector.Retention{
			{What: "order DEMO-30001", Reason: "Kept while a chargeback dispute about the order is open"},
			{What: "order DEMO-2", Reason: "Tax law", Until: time.Date(2031, 4, 5, 0, 0, 0, 0, time.UTC)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	zero := []string{"0001-01-01", "January 0001"}
	noZero := func(what string, a answer) {
		t.Helper()
		if a.code != http.StatusOK {
			t.Fatalf("%s = %d %s", what, a.code, a.body)
		}
		for _, z := range zero {
			if strings.Contains(a.body, z) {
				t.Errorf("%s shows the zero time %q", what, z)
			}
		}
	}

	status := h.do(http.MethodGet, "/api/v1/requests/"+id, "", "", "tok")
	noZero("status JSON", status)
	var view struct {
		Outcome struct {
			Retained []map[string]any `json:"retained"`
		} `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(status.body), &view); err != nil || len(view.Outcome.Retained) != 2 {
		t.Fatalf("status JSON = %s, %v", status.body, err)
	}
	if _, has := view.Outcome.Retained[0]["until"]; has || view.Outcome.Retained[1]["until"] != "2031-04-05T00:00:00Z" {
		t.Errorf("retained = %v, want no until for the hold and the tax record's date", view.Outcome.Retained)
	}
	noZero("report JSON", h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok"))

	for what, a := range map[string]answer{
		"status page": h.send(http.MethodGet, "/requests/"+id, "", "", http.Header{"Cookie": {"dsr_status=tok"}}),
		"report page": h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html", "", "", "tok"),
		"staff page":  h.signIn(h.token("carol", auth.RoleAnalyst)).send(http.MethodGet, "/admin/requests/"+id, "", ""),
	} {
		noZero(what, a)
		if !strings.Contains(a.body, "the hold is lifted") || !strings.Contains(a.body, "5 April 2031") {
			t.Errorf("%s does not say the hold record is kept until the hold is lifted beside the dated one", what)
		}
	}
}
