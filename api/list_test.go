package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// seedRequest stores a request directly, received days before the harness's now and due
// dueIn days after it.
func (h *harness) seedRequest(typ domain.RequestType, status domain.Status, receivedDaysAgo, dueIn int, assignee string) string {
	h.t.Helper()
	received := h.now.AddDate(0, 0, -receivedDaysAgo)
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: typ, Jurisdiction: domain.JurisdictionGDPR, Status: status,
		Email: "private.person@example.com", EmailHash: "h", Details: `{"reason":"secret detail"}`,
		ReceivedAt: received, DueAt: h.now.AddDate(0, 0, dueIn), OriginalDueAt: h.now.AddDate(0, 0, dueIn),
		Assignee: assignee, UpdatedAt: received,
	}
	if status.Terminal() {
		done := h.now.AddDate(0, 0, -1)
		row.CompletedAt = &done
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		h.t.Fatal(err)
	}
	return row.ID
}

func (h *harness) list(token, query string) api.RequestList {
	h.t.Helper()
	a := h.do(http.MethodGet, "/api/v1/admin/requests"+query, "", "", token)
	if a.code != http.StatusOK {
		h.t.Fatalf("list %s = %d %s", query, a.code, a.body)
	}
	var out api.RequestList
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func listIDs(l api.RequestList) []string {
	out := []string{}
	for _, r := range l.Requests {
		out = append(out, r.ID)
	}
	return out
}

func TestStaffListFiltersAndSorts(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	overdue := h.seedRequest(domain.TypeReview, domain.StatusPendingReview, 40, -2, "carol")
	soon := h.seedRequest(domain.TypeSuppress, domain.StatusInProgress, 20, 3, "")
	closed := h.seedRequest(domain.TypeReview, domain.StatusCompleted, 30, -5, "dan")
	fresh := h.seedRequest(domain.TypeCorrect, domain.StatusReceived, 1, 29, "carol")
	for query, want := range map[string][]string{
		"":                                  {fresh, soon, closed, overdue},
		"?sort=received":                    {overdue, closed, soon, fresh},
		"?sort=due":                         {closed, overdue, soon, fresh},
		"?sort=-due":                        {fresh, soon, overdue, closed},
		"?overdue=true":                     {overdue},
		"?status=completed,in_progress":     {soon, closed},
		"?status=completed&status=received": {fresh, closed},
		"?type=review":                      {closed, overdue},
		"?jurisdiction=gdpr&assignee=carol": {fresh, overdue},
		"?due_before=" + h.now.Format(time.DateOnly): {closed, overdue},
		"?id=" + soon:        {soon},
		"?jurisdiction=ccpa": {},
	} {
		if got := listIDs(h.list(analyst, query)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v, want %v", query, got, want)
		}
	}
	items := h.list(analyst, "?id="+overdue).Requests
	if len(items) != 1 || !items[0].Overdue || items[0].DaysLeft == nil || *items[0].DaysLeft != -2 {
		t.Errorf("overdue item = %+v, want overdue with -2 days left", items)
	}
	if done := h.list(analyst, "?id="+closed).Requests[0]; done.Overdue || done.DaysLeft != nil || done.CompletedAt == nil {
		t.Errorf("closed item = %+v, want no days left and not overdue", done)
	}
}

func TestStaffListPagesWithAnOpaqueCursor(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	var want []string
	for i := range 5 {
		want = append([]string{h.seedRequest(domain.TypeReview, domain.StatusReceived, 10-i, 20, "")}, want...)
	}
	var got []string
	query := "?limit=2"
	for range 5 {
		page := h.list(admin, query)
		got = append(got, listIDs(page)...)
		if page.NextCursor == "" {
			break
		}
		if strings.Contains(page.NextCursor, "-") {
			t.Errorf("cursor %q shows its contents", page.NextCursor)
		}
		query = "?limit=2&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
	cursor := h.list(admin, "?limit=2").NextCursor
	for _, q := range []string{"?sort=due&cursor=" + cursor, "?cursor=not-a-cursor"} {
		if a := h.do(http.MethodGet, "/api/v1/admin/requests"+q, "", "", admin); a.code != http.StatusBadRequest || a.errorBody(t).Fields["cursor"] == "" {
			t.Errorf("%s = %d %s, want 400 naming the cursor", q, a.code, a.body)
		}
	}
}

func TestStaffListNamesEveryBadParameter(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	a := h.do(http.MethodGet, "/api/v1/admin/requests?status=lost&type=delete&jurisdiction=mars&overdue=maybe&due_before=soon&id=x&sort=email&limit=500&format=xml", "", "", admin)
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("bad parameters = %d %s, want 422", a.code, a.body)
	}
	fields := a.errorBody(t).Fields
	for _, name := range []string{"status", "type", "jurisdiction", "overdue", "due_before", "id", "sort", "limit", "format"} {
		if fields[name] == "" {
			t.Errorf("fields = %v, want a message for %s", fields, name)
		}
	}
	for _, echoed := range []string{"lost", "mars", "maybe", "soon", "xml"} {
		if strings.Contains(a.body, echoed) {
			t.Errorf("error answer repeats %q: %s", echoed, a.body)
		}
	}
}

func TestStaffListAndExportNeverHoldTheAddressOrDetails(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	h.seedRequest(domain.TypeReview, domain.StatusReceived, 1, 20, "")
	for _, c := range []struct{ query, accept string }{{"", ""}, {"?format=csv", ""}, {"", "text/csv"}} {
		a := h.send(http.MethodGet, "/api/v1/admin/requests"+c.query, "", admin, http.Header{"Accept": {c.accept}})
		if a.code != http.StatusOK {
			t.Fatalf("%+v: %d %s", c, a.code, a.body)
		}
		for _, private := range []string{"private.person", "example.com", "secret detail"} {
			if strings.Contains(a.body, private) {
				t.Errorf("%+v: answer holds %q:\n%s", c, private, a.body)
			}
		}
	}
}

func TestStaffListExportsCSVSafeForSpreadsheets(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	formula := h.seedRequest(domain.TypeReview, domain.StatusReceived, 2, -3, `=HYPERLINK("http://evil","x")`)
	h.seedRequest(domain.TypeSuppress, domain.StatusReceived, 1, 20, "@SUM(A1)")
	h.seedRequest(domain.TypeReview, domain.StatusReceived, 3, 20, "+1-2")
	a := h.send(http.MethodGet, "/api/v1/admin/requests?type=review&sort=received&limit=1", "", admin, http.Header{"Accept": {"text/csv, application/json;q=0.5"}})
	if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") || !strings.Contains(a.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export = %d %v", a.code, a.header)
	}
	records, err := csv.NewReader(strings.NewReader(a.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The export ignores the page size: both review requests, oldest first.
	if len(records) != 3 || records[0][0] != "id" || records[2][0] != formula {
		t.Fatalf("records = %v, want a header and the two review requests", records)
	}
	if got := records[2][7]; got != `'=HYPERLINK("http://evil","x")` {
		t.Errorf("assignee cell = %q, want it defused with a quote", got)
	}
	if got := records[1][7]; got != "'+1-2" {
		t.Errorf("assignee cell = %q, want it defused with a quote", got)
	}
	if got := records[2][8]; got != "-3" {
		t.Errorf("days_left = %q, want the number -3 as it is", got)
	}
	all := h.do(http.MethodGet, "/api/v1/admin/requests?format=csv", "", "", admin)
	if !strings.Contains(all.body, "'@SUM(A1)") {
		t.Errorf("export lacks the defused @ cell:\n%s", all.body)
	}
}
