package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/workflows"
)

func TestIntakeStoresTheRequestAndStartsItsWorkflow(t *testing.T) {
	h := newHarness(t, false)
	body := `{"type":"correct","email":" Someone@Example.COM ","jurisdiction":"ccpa","details":{"changes":[{"field":"name","value":"Sam Smith"}]}}`
	a := h.do(http.MethodPost, "/api/v1/requests", "application/json; charset=utf-8", body, "")
	if a.code != http.StatusAccepted {
		t.Fatalf("intake = %d %s, want 202", a.code, a.body)
	}
	var out api.IntakeAnswer
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		t.Fatal(err)
	}
	if out.StatusToken == "" || out.Status != "received" {
		t.Errorf("answer = %+v, want received with a status token", out)
	}
	received := h.now.UTC().Truncate(time.Microsecond)
	wantDue := received.AddDate(0, 0, 45)
	if !out.DueDate.Equal(wantDue) {
		t.Errorf("due_date = %v, want %v (CCPA: 45 days)", out.DueDate, wantDue)
	}

	row, err := h.requests.GetRequest(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := domain.AcknowledgeBy(domain.JurisdictionCCPA, received)
	if row.Email != "someone@example.com" || row.EmailHash != testSecret.EmailHash("someone@example.com") ||
		row.StatusTokenHash != keys.HashToken(out.StatusToken) || row.Status != domain.StatusReceived ||
		!row.ReceivedAt.Equal(received) || !row.DueAt.Equal(wantDue) || !row.OriginalDueAt.Equal(wantDue) ||
		row.AcknowledgeBy == nil || !row.AcknowledgeBy.Equal(ack) || row.OpenedBy != "" ||
		row.Details != `{"changes":[{"field":"name","value":"Sam Smith"}]}` {
		t.Errorf("stored row = %+v", row)
	}

	if len(h.engine.started) != 1 {
		t.Fatalf("started %d workflows, want 1", len(h.engine.started))
	}
	opts, in := h.engine.started[0], h.engine.inputs[0]
	if opts.ID != workflows.RequestID(out.ID) || opts.TaskQueue != "dsr-test" {
		t.Errorf("workflow ID %q on %q, want %q on dsr-test", opts.ID, opts.TaskQueue, workflows.RequestID(out.ID))
	}
	if status, _ := opts.TypedSearchAttributes.GetKeyword(workflows.StatusKey); status != "received" {
		t.Errorf("status attribute = %q, want received", status)
	}
	if due, _ := opts.TypedSearchAttributes.GetTime(workflows.DueDateKey); !due.Equal(wantDue) {
		t.Errorf("due date attribute = %v, want %v", due, wantDue)
	}
	want := workflows.RequestInput{
		RequestID: out.ID, Type: domain.TypeCorrect, Jurisdiction: domain.JurisdictionCCPA,
		ReceivedAt: received, DueAt: wantDue,
		Deadline:     domain.DeadlinePolicy{DefaultDays: 20, Extension: &domain.ExtensionRule{Period: domain.Period{Days: 45}}},
		Identity:     domain.IdentityRule{Requirement: domain.IdentityAnalyst},
		Verification: workflows.DefaultVerificationSettings(),
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("workflow input\n got  %+v\n want %+v", in, want)
	}
}

func TestIntakeDefaultsTheJurisdiction(t *testing.T) {
	h := newHarness(t, false)
	out := h.open()
	want := h.now.UTC().Truncate(time.Microsecond).AddDate(0, 0, 20)
	if !out.DueDate.Equal(want) || h.engine.inputs[0].Jurisdiction != domain.JurisdictionDefault {
		t.Errorf("due %v in %s, want %v under the default policy", out.DueDate, h.engine.inputs[0].Jurisdiction, want)
	}
}

func TestIntakeOfAColoradoRequestIsDue45DaysLaterAndExtendsBy45(t *testing.T) {
	h := newHarness(t, false)
	a := h.do(http.MethodPost, "/api/v1/requests", "application/json",
		`{"type":"review","email":"someone@example.com","jurisdiction":"cpa"}`, "")
	if a.code != http.StatusAccepted {
		t.Fatalf("intake = %d %s, want 202", a.code, a.body)
	}
	var out struct {
		DueDate time.Time `json:"due_date"`
	}
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		t.Fatal(err)
	}
	want := h.now.UTC().Truncate(time.Microsecond).AddDate(0, 0, 45)
	in := h.engine.inputs[0]
	if !out.DueDate.Equal(want) || in.Jurisdiction != domain.JurisdictionCPA || !in.DueAt.Equal(want) {
		t.Errorf("due %v in %s, want %v (C.R.S. 6-1-1306: 45 days)", out.DueDate, in.Jurisdiction, want)
	}
	if got := domain.ExtendedDueDate(in.Jurisdiction, in.DueAt, in.Deadline); !got.Equal(want.AddDate(0, 0, 45)) {
		t.Errorf("extended to %v, want 45 days after the due date", got)
	}
}

func TestIntakeAcceptsAWebForm(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{
		"type": {"suppress"}, "email": {"someone@example.com"}, "jurisdiction": {"gdpr"},
		"details": {`{"scope":{"all":true}}`},
	}
	a := h.do(http.MethodPost, "/api/v1/requests", "application/x-www-form-urlencoded", form.Encode(), "")
	if a.code != http.StatusAccepted {
		t.Fatalf("form intake = %d %s, want 202", a.code, a.body)
	}
	if in := h.engine.inputs[0]; in.Type != domain.TypeSuppress || in.Jurisdiction != domain.JurisdictionGDPR {
		t.Errorf("workflow input = %+v, want a GDPR suppress request", in)
	}
}

func TestIntakeNamesEveryInvalidFieldWithoutEchoingThem(t *testing.T) {
	h := newHarness(t, false)
	body := `{"type":"correct","email":"jane.doe@@example.com","jurisdiction":"mars","details":{"changes":[{"field":"shoe_size","value":""}]}}`
	a := h.do(http.MethodPost, "/api/v1/requests", "", body, "")
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("intake = %d %s, want 422", a.code, a.body)
	}
	got := a.errorBody(t).Fields
	for _, f := range []string{"email", "jurisdiction", "details.changes[0].field", "details.changes[0].value"} {
		if got[f] == "" {
			t.Errorf("fields = %v, want a message for %s", got, f)
		}
	}
	for _, secret := range []string{"jane.doe", "mars", "shoe_size"} {
		if strings.Contains(a.body, secret) {
			t.Errorf("error answer %s repeats %q", a.body, secret)
		}
	}
	if len(h.engine.started) != 0 {
		t.Error("an invalid request started a workflow")
	}
}

// Control characters and card numbers in a correction never reach the store or the
// workflow, and the refusal names the value without repeating it.
func TestIntakeRefusesControlCharactersAndCardNumbersInValues(t *testing.T) {
	h := newHarness(t, false)
	for _, c := range []struct{ value, want string }{
		{`Ada\u0000Lovelace`, "control character"},
		{`4111 1111 1111 1111`, "card number"},
	} {
		body := `{"type":"correct","email":"ada@example.com","details":{"changes":[{"field":"name","value":"Ada"},{"field":"profile","value":"` + c.value + `"}]}}`
		a := h.do(http.MethodPost, "/api/v1/requests", "", body, "")
		if a.code != http.StatusUnprocessableEntity {
			t.Fatalf("value %q = %d %s, want 422", c.value, a.code, a.body)
		}
		fields := a.errorBody(t).Fields
		if !strings.Contains(fields["details.changes[1].value"], c.want) || len(fields) != 1 {
			t.Errorf("value %q: fields = %v, want details.changes[1].value naming the %s", c.value, fields, c.want)
		}
		if strings.Contains(a.body, "Lovelace") || strings.Contains(a.body, "1111") {
			t.Errorf("refusal %s repeats the value", a.body)
		}
	}
	if len(h.engine.started) != 0 {
		t.Error("a refused value started a workflow")
	}
}

func TestIntakeNamesAnUnknownOrMissingType(t *testing.T) {
	h := newHarness(t, false)
	for _, body := range []string{`{"type":"delete","email":"a@example.com"}`, `{"email":"a@example.com"}`} {
		a := h.do(http.MethodPost, "/api/v1/requests", "", body, "")
		if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["type"] == "" {
			t.Errorf("%s: %d %s, want 422 naming type", body, a.code, a.body)
		}
	}
}

func TestIntakeReportsDetailsThatAreNotJSONInAForm(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{"type": {"restrict"}, "email": {"a@example.com"}, "details": {"{limits"}}
	a := h.do(http.MethodPost, "/api/v1/requests", "application/x-www-form-urlencoded", form.Encode(), "")
	if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["details"] == "" {
		t.Errorf("form with bad details = %d %s, want 422 naming details", a.code, a.body)
	}
}

func TestPublicIntakeRefusesStaffOnlyTypes(t *testing.T) {
	h := newHarness(t, false)
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"child_erasure","email":"a@example.com","details":{"reason":"a parent asked"}}`, "")
	if a.code != http.StatusForbidden {
		t.Errorf("child_erasure from the public = %d %s, want 403", a.code, a.body)
	}
}

func TestIntakeRejectsMalformedBodies(t *testing.T) {
	h := newHarness(t, false)
	valid := `{"type":"restrict","email":"a@example.com","details":{"limits":["marketing_email"]}}`
	for _, c := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"unknown field", "", `{"type":"restrict","email":"a@example.com","admin":true}`, http.StatusBadRequest},
		{"unknown details field", "", `{"type":"restrict","email":"a@example.com","details":{"limits":[],"all":1}}`, http.StatusBadRequest},
		{"not JSON", "", `{"type":`, http.StatusBadRequest},
		{"two values", "", valid + valid, http.StatusBadRequest},
		{"wrong type", "", `{"type":1,"email":"a@example.com"}`, http.StatusBadRequest},
		{"empty", "application/json", "", http.StatusBadRequest},
		{"plain text", "text/plain", valid, http.StatusUnsupportedMediaType},
		{"unknown form field", "application/x-www-form-urlencoded", "type=restrict&email=a%40example.com&x=1", http.StatusBadRequest},
		{"too large", "", `{"type":"restrict","email":"a@example.com","details":{"limits":["` + strings.Repeat("x", 70<<10) + `"]}}`, http.StatusRequestEntityTooLarge},
	} {
		a := h.do(http.MethodPost, "/api/v1/requests", c.contentType, c.body, "")
		if a.code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, a.code, a.body, c.want)
			continue
		}
		a.errorBody(t)
	}
	if len(h.engine.started) != 0 {
		t.Error("a malformed request started a workflow")
	}
}

func TestIntakeThatCannotStartItsWorkflowAnswers503AndClosesTheRow(t *testing.T) {
	h := newHarness(t, false)
	h.engine.startErr = errors.New("temporal unreachable")
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"restrict","email":"a@example.com","details":{"limits":["marketing_email"]}}`, "")
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("intake with the engine down = %d %s, want 503 with Retry-After", a.code, a.body)
	}
	if strings.Contains(a.body, "status_token") || strings.Contains(a.body, "unreachable") {
		t.Errorf("503 answer %s gives a token or internal detail", a.body)
	}
	var ids []string
	if err := h.db.Table("requests").Pluck("id", &ids).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("requests rows = %v, want the one that was created", ids)
	}
	row, err := h.requests.GetRequest(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != domain.StatusCancelled || row.CompletedAt == nil || row.StatusReason == "" {
		t.Errorf("row after a failed start = %+v, want it closed with a reason", row)
	}
}

func TestGPCSignalRecordsAnAffiliateSharingOptOutWithoutVerification(t *testing.T) {
	h := newHarness(t, false)
	a := h.send(http.MethodPost, "/api/v1/requests", `{"type":"review","email":"Gail@example.com"}`, "", http.Header{"Sec-Gpc": {"1"}})
	out := intakeAnswer(t, a)
	if !reflect.DeepEqual(out.OptOutsRecorded, []domain.RestrictLimit{domain.LimitAffiliateSharing}) {
		t.Errorf("opt_outs_recorded = %v, want affiliate_sharing", out.OptOutsRecorded)
	}
	got, err := h.requests.OptOuts(context.Background(), testSecret.EmailHash("gail@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Limit != domain.LimitAffiliateSharing || got[0].Source != "gpc" || got[0].RequestID != out.ID {
		t.Errorf("opt-outs = %+v, want affiliate_sharing from GPC on %s", got, out.ID)
	}
	if row, _ := h.requests.GetRequest(context.Background(), out.ID); row.Details != "{}" {
		t.Errorf("a review's details = %s, want them unchanged", row.Details)
	}
}

func TestGPCSignalAddsTheOptOutToARestriction(t *testing.T) {
	h := newHarness(t, false)
	out := intakeAnswer(t, h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", http.Header{"Sec-Gpc": {"1"}}))
	row, err := h.requests.GetRequest(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Details != `{"limits":["marketing_email","affiliate_sharing"]}` {
		t.Errorf("details = %s, want affiliate_sharing added", row.Details)
	}
}

func TestNoGPCSignalNoOptOut(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	for name, send := range map[string]func() answer{
		"no header": func() answer { return h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", nil) },
		"Sec-GPC: 0": func() answer {
			return h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", http.Header{"Sec-Gpc": {"0"}})
		},
		// A staff member's browser speaks for the staff member, not for the data subject.
		"staff intake": func() answer {
			return h.send(http.MethodPost, "/api/v1/admin/requests", `{"type":"child_erasure","email":"someone@example.com","details":{"reason":"a parent asked"}}`, admin, http.Header{"Sec-Gpc": {"1"}})
		},
	} {
		if out := intakeAnswer(t, send()); len(out.OptOutsRecorded) != 0 {
			t.Errorf("%s: opt_outs_recorded = %v", name, out.OptOutsRecorded)
		}
	}
	if got, err := h.requests.OptOuts(context.Background(), testSecret.EmailHash("someone@example.com")); err != nil || len(got) != 0 {
		t.Errorf("opt-outs = %+v, %v; want none", got, err)
	}
}
