package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// seedWithToken stores a request of the given status that the token opens.
func (h *harness) seedWithToken(status domain.Status, token string) string {
	h.t.Helper()
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: domain.TypeReview, Jurisdiction: domain.JurisdictionGDPR, Status: status,
		Email: "someone@example.com", EmailHash: "h", StatusTokenHash: keys.HashToken(token),
		ReceivedAt: h.now.AddDate(0, 0, -10), DueAt: h.now.AddDate(0, 0, 20), OriginalDueAt: h.now.AddDate(0, 0, 20), UpdatedAt: h.now,
	}
	if status.Terminal() {
		done := h.now.Add(-time.Hour)
		row.CompletedAt = &done
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		h.t.Fatal(err)
	}
	return row.ID
}

// newReportHarness is a harness whose repository seals and opens store results, as the
// server's does in production.
func newReportHarness(t *testing.T) *harness {
	t.Helper()
	ring := newCodecRing(t)
	h := newHarness(t, false, func(o *api.Options) { o.Requests = o.Requests.WithResultKeys(ring) })
	h.requests = h.requests.WithResultKeys(ring)
	return h
}

func TestReportOfACompletedReviewShowsOnlyTheLast4OfCards(t *testing.T) {
	h := newReportHarness(t)
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	ctx := context.Background()
	err := h.requests.SaveStoreResult(ctx, id, "store", connector.Result{
		Store: "store", Found: []string{"orders"},
		Export: map[string]any{
			"name":   "Sam",
			"orders": []any{map[string]any{"card": "4111 1111 1111 1111", "order_number": "A-17"}},
			"card":   4012888888881881.0,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.requests.SaveStoreResult(ctx, id, "crm", connector.Result{Store: "crm", NotFound: true}); err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok")
	if a.code != http.StatusOK || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	var report api.Report
	if err := json.Unmarshal([]byte(a.body), &report); err != nil {
		t.Fatal(err)
	}
	if report.RequestID != id || len(report.Categories) != 1 || report.Categories[0].Label != "Orders" {
		t.Fatalf("report = %+v, want the one kind of data found", report)
	}
	for _, want := range []string{`"**** 1111"`, `"**** 1881"`, `"A-17"`, `"Sam"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("report lacks %s, want cards cut to their last 4 and the rest as it is: %s", want, a.body)
		}
	}
	if strings.Contains(a.body, "4111 1111") || strings.Contains(a.body, "4012888888881881") {
		t.Errorf("report shows a card number: %s", a.body)
	}
}

func TestReportWaitsForCompletion(t *testing.T) {
	h := newReportHarness(t)
	for _, status := range []domain.Status{domain.StatusInProgress, domain.StatusDenied} {
		id := h.seedWithToken(status, "tok-"+string(status))
		a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok-"+string(status))
		if a.code != http.StatusConflict || a.errorBody(t).Code != "request_not_completed" {
			t.Errorf("report of a request %s = %d %s, want 409", status, a.code, a.body)
		}
	}
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	if a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "other"); a.code != http.StatusUnauthorized {
		t.Errorf("report with another token = %d, want 401", a.code)
	}
}

// The status view and the report list the recipients told of a change, and since when
// they had the person's data where a store says so; a recipient a store names but that was
// not told (no rule in the data map) is not listed as told.
func TestStatusAndReportListTheRecipientsToldAndSinceWhen(t *testing.T) {
	h := newReportHarness(t)
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	ctx := context.Background()
	since := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := h.requests.SaveStoreResult(ctx, id, "accounts", connector.Result{Store: "accounts", Changed: []string{"affiliate_sharing"},
		DisclosedTo: []connector.Disclosure{{Recipient: "Affiliate UK", Since: since}, {Recipient: "Affiliate AS"}, {Recipient: "Not A Recipient"}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Affiliate UK", "Affiliate AS"} {
		if err := h.requests.RecordRecipientNotice(ctx, requestdb.RecipientNoticeRecord{RequestID: id, Recipient: name,
			Channel: "email", Status: "sent", SentAt: h.now}); err != nil {
			t.Fatal(err)
		}
	}
	type told struct {
		Name   string    `json:"name"`
		Status string    `json:"status"`
		Since  time.Time `json:"since"`
	}
	want := []told{{Name: "Affiliate AS", Status: "sent"}, {Name: "Affiliate UK", Status: "sent", Since: since}}

	var view struct{ Recipients []told }
	if a := h.do(http.MethodGet, "/api/v1/requests/"+id, "", "", "tok"); a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &view) != nil {
		t.Fatalf("status = %d %s", a.code, a.body)
	}
	if !reflect.DeepEqual(view.Recipients, want) {
		t.Errorf("status view's recipients %+v, want %+v", view.Recipients, want)
	}
	var report struct{ Recipients []told }
	if a := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report", "", "", "tok"); a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &report) != nil {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	if !reflect.DeepEqual(report.Recipients, want) {
		t.Errorf("report's recipients %+v, want %+v", report.Recipients, want)
	}
	page := h.do(http.MethodGet, "/api/v1/requests/"+id+"/report?format=html", "", "", "tok")
	for _, s := range []string{"Affiliate AS", "Affiliate UK", "1 June 2021"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("report page lacks %q", s)
		}
	}
}
