package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

func TestMetricsCountRequestsAndDaysToRespond(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	// Completed and denied the day before now, received 10 and 4 days before that.
	h.seedRequest(domain.TypeReview, domain.StatusCompleted, 11, 0, "")
	h.seedRequest(domain.TypeReview, domain.StatusDenied, 5, 0, "")
	h.seedRequest(domain.TypeSuppress, domain.StatusInProgress, 2, 10, "")
	h.seedRequest(domain.TypeSuppress, domain.StatusReceived, 400, 10, "") // before the default year
	a := h.do(http.MethodGet, "/api/v1/admin/metrics", "", "", analyst)
	if a.code != http.StatusOK {
		t.Fatalf("metrics = %d %s", a.code, a.body)
	}
	var m api.MetricsReport
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatal(err)
	}
	if want := (api.Counts{Received: 3, Completed: 1, Denied: 1}); m.Totals != want {
		t.Errorf("totals = %+v, want %+v", m.Totals, want)
	}
	if want := (api.ResponseDays{Count: 2, Median: 7, Mean: 7}); m.DaysToRespond != want {
		t.Errorf("days to respond = %+v, want %+v", m.DaysToRespond, want)
	}
	if got := m.ByType[domain.TypeSuppress]; got.Received != 1 || got.DaysToRespond.Count != 0 {
		t.Errorf("suppress = %+v, want 1 received and no answers", got)
	}
	if len(m.Months) == 0 || m.Months[0].Month == "" {
		t.Errorf("months = %+v", m.Months)
	}
	narrow := h.do(http.MethodGet, "/api/v1/admin/metrics?from=2026-02-28&to=2026-03-01", "", "", analyst)
	if err := json.Unmarshal([]byte(narrow.body), &m); err != nil || m.Totals != (api.Counts{Received: 1}) {
		t.Errorf("one day's metrics = %+v, %v; want the one request received that day", m.Totals, err)
	}
}

func TestMetricsRefuseABadPeriod(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	for _, q := range []string{"?from=yesterday", "?from=2026-03-01&to=2026-02-01", "?from=2010-01-01&to=2026-01-01"} {
		if a := h.do(http.MethodGet, "/api/v1/admin/metrics"+q, "", "", admin); a.code != http.StatusUnprocessableEntity || len(a.errorBody(t).Fields) == 0 {
			t.Errorf("%s = %d %s, want 422 naming the field", q, a.code, a.body)
		}
	}
	if a := h.do(http.MethodGet, "/api/v1/admin/metrics?year=2025", "", "", admin); a.code != http.StatusBadRequest {
		t.Errorf("unknown parameter = %d %s, want 400", a.code, a.body)
	}
}
