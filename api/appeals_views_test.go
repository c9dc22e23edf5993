package api_test

import (
	"context"
	"encoding/json"
	"net/http"
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
