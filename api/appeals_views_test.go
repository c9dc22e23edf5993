package api_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// seedAppeal stores an open appeal of the request, received at and due dueIn days after
// the harness's now.
func (h *harness) seedAppeal(requestID, text string, dueIn int) {
	h.t.Helper()
	err := h.requests.CreateAppeal(context.Background(), &requestdb.Appeal{
		RequestID: requestID, Status: domain.AppealOpen, Text: text, ReceivedAt: h.now,
		DueAt: h.now.AddDate(0, 0, dueIn), OriginalDueAt: h.now.AddDate(0, 0, dueIn), RefusedBy: "carol", RefusedByID: "tok-carol",
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func TestTheStaffViewOfARequestCarriesItsAppealAsThePageShowsIt(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	id := h.seedRequest(domain.TypeReview, domain.StatusDenied, 5, 20, "")
	plain := h.seedRequest(domain.TypeReview, domain.StatusDenied, 5, 20, "")
	h.seedAppeal(id, "My <name> is right.", 60)
	granted, decided, reason := domain.AppealGranted, h.now.Add(time.Hour), "the passport settles it"
	_, err := h.requests.ApplyAppealStep(context.Background(), requestdb.AppealStep{
		RequestID: id, Seq: 1<<41 + 2, Event: requestdb.AuditEvent{At: decided, Actor: "dave", Role: "analyst", Action: "appeal_granted", Details: "[]"},
		Patch: requestdb.AppealPatch{Status: &granted, DecidedBy: new("dave"), DecidedAt: &decided, DecisionReason: &reason},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodGet, "/api/v1/admin/requests/"+id, "", "", admin)
	var v api.StaffView
	if err := json.Unmarshal([]byte(a.body), &v); err != nil || a.code != http.StatusOK {
		t.Fatalf("staff view = %d %s", a.code, a.body)
	}
	ap := v.Appeal
	if ap == nil || ap.Status != domain.AppealGranted || !near(ap.DueAt, h.now.AddDate(0, 0, 60)) || ap.DecidedBy != "dave" ||
		ap.DecisionReason != reason || ap.DecidedAt == nil || !near(*ap.DecidedAt, decided) || ap.Text != "My <name> is right." {
		t.Errorf("staff view's appeal = %+v, want the granted appeal with its due date, decision and the person's text", ap)
	}
	b := h.do(http.MethodGet, "/api/v1/admin/requests/"+plain, "", "", admin)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(b.body), &raw); err != nil || raw["appeal"] != nil {
		t.Errorf("a request without an appeal shows one: %s", raw["appeal"])
	}
}

// near says two times are the same to the millisecond, as the databases keep them.
func near(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

func TestTheAppealsListPagesByKeysetInDueOrder(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	var want []string
	// Two appeals share a due date, so the ID breaks the tie across the page boundary.
	for _, due := range []int{40, 10, 30, 30, 20} {
		id := h.seedRequest(domain.TypeReview, domain.StatusDenied, 5, 20, "")
		h.seedAppeal(id, "disagree", due)
		want = append(want, id)
	}
	slices.SortFunc(want, func(a, b string) int {
		ga, _ := h.requests.GetAppeal(context.Background(), a)
		gb, _ := h.requests.GetAppeal(context.Background(), b)
		if c := ga.DueAt.Compare(gb.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var got []string
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		a := h.do(http.MethodGet, "/api/v1/admin/appeals?status=open&limit=2"+cursor, "", "", admin)
		var page api.AppealList
		if err := json.Unmarshal([]byte(a.body), &page); err != nil || a.code != http.StatusOK || len(page.Appeals) > 2 {
			t.Fatalf("appeals page = %d %s", a.code, a.body)
		}
		for _, ap := range page.Appeals {
			got = append(got, ap.RequestID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged appeals = %v, want each once, due first: %v", got, want)
	}
	first := h.do(http.MethodGet, "/api/v1/admin/appeals?status=open&limit=2", "", "", admin)
	var page api.AppealList
	json.Unmarshal([]byte(first.body), &page)
	if a := h.do(http.MethodGet, "/api/v1/admin/appeals?status=denied&cursor="+url.QueryEscape(page.NextCursor), "", "", admin); a.code != http.StatusBadRequest {
		t.Errorf("a cursor of the open list on the denied list = %d, want 400", a.code)
	}
	if a := h.do(http.MethodGet, "/api/v1/admin/appeals?sort=due", "", "", admin); a.code != http.StatusBadRequest {
		t.Errorf("an unknown parameter = %d, want 400", a.code)
	}
}

func TestTheAppealsPageLinksToItsNextPage(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	for i := range 51 {
		h.seedAppeal(h.seedRequest(domain.TypeReview, domain.StatusDenied, 5, 20, ""), "disagree", 10+i)
	}
	d := h.signIn(admin)
	first := d.send(http.MethodGet, "/admin/appeals", "", "")
	next := regexp.MustCompile(`href="([^"]+)" id="next-page"`).FindStringSubmatch(first.body)
	if first.code != http.StatusOK || strings.Count(first.body, `class="appeal-link"`) != 50 || next == nil {
		t.Fatalf("first page = %d with %d appeals, want 50 and a link to the next", first.code, strings.Count(first.body, `class="appeal-link"`))
	}
	second := d.send(http.MethodGet, html.UnescapeString(next[1]), "", "")
	if second.code != http.StatusOK || strings.Count(second.body, `class="appeal-link"`) != 1 || strings.Contains(second.body, `id="next-page"`) {
		t.Errorf("second page = %d with %d appeals, want the last one and no further link", second.code, strings.Count(second.body, `class="appeal-link"`))
	}
}
