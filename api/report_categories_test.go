package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// A review that asked for the categories only (DRP access:categories) reports each kind of
// data with a count, and no value reaches its JSON, its page or its portable copy.
func TestACategoriesOnlyReviewReportsCountsAndNoValues(t *testing.T) {
	h := newReportHarness(t)
	ctx := context.Background()
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: domain.TypeReview, Jurisdiction: domain.JurisdictionCCPA, Status: domain.StatusCompleted,
		Details: `{"categories_only":true}`, Email: "someone@example.com", EmailHash: "h", StatusTokenHash: keys.HashToken("tok"),
		ReceivedAt: h.now.AddDate(0, 0, -10), DueAt: h.now.AddDate(0, 0, 20), OriginalDueAt: h.now.AddDate(0, 0, 20), UpdatedAt: h.now,
	}
	done := h.now.Add(-time.Hour)
	row.CompletedAt = &done
	if err := h.requests.CreateRequest(ctx, row); err != nil {
		t.Fatal(err)
	}
	err := h.requests.SaveStoreResult(ctx, row.ID, "shop", connector.Result{
		Store: "shop", Found: []string{"orders"},
		Export: map[string]any{"orders": []any{
			map[string]any{"number": "DEMO-1", "name": "Sam Example"},
			map[string]any{"number": "DEMO-2", "postal_code": "BS1 4DJ"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"DEMO-1", "DEMO-2", "Sam Example", "BS1 4DJ"}
	noValues := func(what, body string) {
		t.Helper()
		for _, v := range values {
			if strings.Contains(body, v) {
				t.Errorf("%s shows the value %q", what, v)
			}
		}
	}

	a := h.do(http.MethodGet, "/api/v1/requests/"+row.ID+"/report", "", "", "tok")
	var report struct {
		CategoriesOnly bool `json:"categories_only"`
		Categories     []struct {
			Label   string `json:"label"`
			Count   int    `json:"count"`
			Records []any  `json:"records"`
		} `json:"categories"`
	}
	if a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &report) != nil {
		t.Fatalf("report = %d %s", a.code, a.body)
	}
	if !report.CategoriesOnly || len(report.Categories) != 1 || report.Categories[0].Count != 2 || report.Categories[0].Records != nil {
		t.Errorf("report %s, want one category with a count of 2 and no records", a.body)
	}
	noValues("the JSON report", a.body)

	page := h.do(http.MethodGet, "/api/v1/requests/"+row.ID+"/report?format=html", "", "", "tok")
	if !strings.Contains(page.body, `id="categories-only"`) || !strings.Contains(page.body, "(2 records)") {
		t.Errorf("the report page does not say it names kinds and counts only")
	}
	if strings.Contains(page.body, "spreadsheet (CSV)") {
		t.Errorf("the report page promises spreadsheets of records it does not hold")
	}
	noValues("the report page", page.body)

	files := unzipped(t, h.do(http.MethodGet, "/api/v1/requests/"+row.ID+"/report.zip", "", "", "tok").body)
	var names []string
	for name, body := range files {
		names = append(names, name)
		noValues("the portable copy's "+name, string(body))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"README.txt", "report.json"}) {
		t.Errorf("the portable copy holds %v, want only README.txt and report.json", names)
	}
}
