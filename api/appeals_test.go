package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

// mailTo waits for a mail to the address whose subject holds subject, and returns it.
func (s *stack) mailTo(to, subject string) api.DevMail {
	s.t.Helper()
	var found api.DevMail
	s.eventually("a mail to "+to+" about "+subject, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		for _, m := range msgs {
			if strings.Contains(m.Subject, subject) {
				found = m
				return true, ""
			}
		}
		return false, "no such mail yet"
	})
	return found
}

// deniedRequest opens a Virginia correction, proves its mailbox and has refuser deny it.
func (s *stack) deniedRequest(email, refuser string) api.IntakeAnswer {
	s.t.Helper()
	return s.deniedUnder(domain.JurisdictionVCDPA, email, refuser)
}

// deniedUnder opens a correction under j, proves its mailbox and has refuser deny it.
func (s *stack) deniedUnder(j domain.Jurisdiction, email, refuser string) api.IntakeAnswer {
	s.t.Helper()
	req := s.open(`{"type":"correct","email":"` + email + `","jurisdiction":"` + string(j) + `","details":{"changes":[{"field":"name","value":"Vic Vale"}]}}`)
	s.verify(req, email)
	s.awaitRequesterStatus(req, domain.StatusPendingReview)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/deny", `{"reason":"we could not match the name to our records"}`, refuser, nil)
	s.awaitRequesterStatus(req, domain.StatusDenied)
	return req
}

func TestAppealOfADenialIsDecidedBySomeoneElseThroughTheRealEngine(t *testing.T) {
	s := startStack(t)
	carol := s.token("carol", auth.RoleAnalyst)
	dave := s.token("dave", auth.RoleAnalyst)
	req := s.deniedRequest("vic@example.com", carol)
	path := "/api/v1/requests/" + req.ID + "/appeal"

	denial := s.mailTo("vic@example.com", "Decision on your privacy request")
	if !strings.Contains(denial.Text, "/requests/"+req.ID+"?k=") || !strings.Contains(denial.Text, "#appeal") {
		t.Errorf("the denial does not carry the appeal link:\n%s", denial.Text)
	}

	a := s.do(http.MethodPost, path, `{"text":"my name is right\u0007"}`, req.StatusToken)
	if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["text"] == "" {
		t.Errorf("an appeal with a control character = %d %s, want 422 on text", a.code, a.body)
	}
	if a := s.do(http.MethodPost, path, `{"text":"`+strings.Repeat("x", domain.MaxAppealText+1)+`"}`, req.StatusToken); a.code != http.StatusUnprocessableEntity {
		t.Errorf("an overlong appeal = %d, want 422", a.code)
	}

	before := time.Now()
	var ap api.RequesterAppeal
	s.must(http.StatusAccepted, http.MethodPost, path, `{"text":"My name is Vic Vale; my passport says so."}`, req.StatusToken, &ap)
	if ap.Status != domain.AppealOpen || ap.DueAt.Before(before.AddDate(0, 0, 60).Add(-time.Minute)) || ap.DueAt.After(time.Now().AddDate(0, 0, 60)) {
		t.Errorf("appeal = %+v, want open and due in Virginia's 60 days", ap)
	}
	if a := s.do(http.MethodPost, path, `{"text":"And another thing."}`, req.StatusToken); a.code != http.StatusConflict || a.errorBody(t).Code != "appeal_exists" {
		t.Errorf("a second appeal = %d %s, want 409 appeal_exists", a.code, a.body)
	}

	var open []requestdb.Appeal
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/appeals?status=open", "", dave, &open)
	if !slices.ContainsFunc(open, func(x requestdb.Appeal) bool {
		return x.RequestID == req.ID && x.RefusedBy == "carol" && x.RefusedByID != ""
	}) {
		t.Fatalf("open appeals %+v lack this one, refused by carol", open)
	}

	decision := "/api/v1/admin/requests/" + req.ID + "/appeal/decision"
	if a := s.do(http.MethodPost, decision, `{"granted":true,"reason":"on second thought"}`, carol); a.code != http.StatusConflict || !strings.Contains(a.body, "another must") {
		t.Errorf("decision by the refuser = %d %s, want 409", a.code, a.body)
	}
	var decided requestdb.Appeal
	s.must(http.StatusOK, http.MethodPost, decision, `{"granted":false,"reason":"The name on file matches the order records we must keep."}`, dave, &decided)
	if decided.Status != domain.AppealDenied || decided.DecidedBy != "dave" || decided.DecidedAt == nil {
		t.Errorf("decided appeal = %+v", decided)
	}
	if a := s.do(http.MethodPost, decision, `{"granted":true,"reason":"again"}`, dave); a.code != http.StatusConflict {
		t.Errorf("a second decision = %d %s, want 409", a.code, a.body)
	}

	s.must(http.StatusOK, http.MethodGet, path, "", req.StatusToken, &ap)
	if ap.Status != domain.AppealDenied || ap.Regulator == nil || ap.Regulator.Name != "Office of the Attorney General of Virginia" {
		t.Errorf("the requester's view of the denied appeal = %+v, want the regulator", ap)
	}
	m := s.mailTo("vic@example.com", "Decision on your appeal")
	for _, want := range []string{"keep our decision", "Office of the Attorney General of Virginia", "https://www.oag.state.va.us/consumer-protection/", "order records we must keep"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the appeal decision mail lacks %q:\n%s", want, m.Text)
		}
	}

	var metrics api.MetricsReport
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/metrics", "", dave, &metrics)
	if got := metrics.Appeals; got.Received != 1 || got.Denied != 1 || got.Granted != 0 || got.DaysToDecide.Count != 1 {
		t.Errorf("appeal metrics = %+v, want one received and one denied", got)
	}

	auditor := s.token("ann", auth.RoleAuditor)
	var key audit.PublicKeyInfo
	s.must(http.StatusOK, http.MethodGet, "/api/v1/audit/public-key", "", auditor, &key)
	pub, err := audit.ParsePublicKey(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	bundle := s.do(http.MethodGet, "/api/v1/audit/requests/"+req.ID+"/evidence", "", auditor)
	if _, err := audit.VerifyBundle([]byte(bundle.body), pub); bundle.code != http.StatusOK || err != nil {
		t.Fatalf("evidence = %d, %v", bundle.code, err)
	}
	var inBundle requestdb.Appeal
	if err := json.Unmarshal([]byte(bundleFiles(t, []byte(bundle.body))["appeal.json"]), &inBundle); err != nil {
		t.Fatalf("appeal.json: %v", err)
	}
	if inBundle.Status != domain.AppealDenied || inBundle.DecidedBy != "dave" || inBundle.RefusedBy != "carol" || strings.Contains(inBundle.Text, "passport") {
		t.Errorf("the bundle's appeal = %+v, want denied by dave, refused by carol, the person's words withheld", inBundle)
	}

	events, err := s.requests.AuditEvents(context.Background(), req.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "appealed") || actions[len(actions)-1] != "appeal_denied" {
		t.Errorf("audit actions %v, want appealed and appeal_denied last", actions)
	}
	logged, err := s.transparencyLog.RequestEvidence(context.Background(), req.ID)
	if err != nil {
		t.Fatal(err)
	}
	var milestones []string
	for _, e := range logged.Entries {
		milestones = append(milestones, string(e.Entry.Milestone))
		if e.Entry.Milestone == tlog.Appealed && !e.Entry.DueAt.Equal(ap.DueAt.Truncate(time.Second)) {
			t.Errorf("the appealed entry is due %v, want the appeal's %v", e.Entry.DueAt, ap.DueAt)
		}
	}
	if !slices.Contains(milestones, "appealed") || !slices.Contains(milestones, "appeal_denied") {
		t.Errorf("transparency log milestones %v, want appealed and appeal_denied", milestones)
	}
}

func TestARequestThatWasNotRefusedCannotBeAppealed(t *testing.T) {
	s := startStack(t)
	req := s.open(`{"type":"restrict","email":"rae@example.com","jurisdiction":"vcdpa","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "rae@example.com")
	s.awaitRequesterStatus(req, domain.StatusCompleted)
	a := s.do(http.MethodPost, "/api/v1/requests/"+req.ID+"/appeal", `{"text":"I disagree."}`, req.StatusToken)
	if a.code != http.StatusConflict || a.errorBody(t).Code != "not_appealable" {
		t.Errorf("appeal of a completed request that kept nothing = %d %s, want 409 not_appealable", a.code, a.body)
	}
}

func TestAColoradoAppealIsExtendedOnceAndThePersonToldWhy(t *testing.T) {
	s := startStack(t)
	carol, dave := s.token("carol", auth.RoleAnalyst), s.token("dave", auth.RoleAnalyst)
	req := s.deniedUnder(domain.JurisdictionCPA, "cleo@example.com", carol)
	var ap api.RequesterAppeal
	s.must(http.StatusAccepted, http.MethodPost, "/api/v1/requests/"+req.ID+"/appeal", `{"text":"Please look again."}`, req.StatusToken, &ap)
	if days := ap.DueAt.Sub(ap.ReceivedAt).Hours() / 24; days != 45 {
		t.Errorf("a Colorado appeal is due in %v days, want 45", days)
	}
	var extended requestdb.Appeal
	path := "/api/v1/admin/requests/" + req.ID + "/appeal/extension"
	s.must(http.StatusOK, http.MethodPost, path, `{"reason":"Three systems hold the records in question."}`, dave, &extended)
	if want := ap.DueAt.AddDate(0, 0, 60); !extended.DueAt.Equal(want) || extended.ExtendedAt == nil {
		t.Errorf("extended appeal = %+v, want due %v", extended, want)
	}
	if a := s.do(http.MethodPost, path, `{"reason":"again"}`, dave); a.code != http.StatusConflict {
		t.Errorf("a second extension = %d %s, want 409", a.code, a.body)
	}
	m := s.mailTo("cleo@example.com", "More time needed for your appeal")
	if !strings.Contains(m.Text, "Three systems hold the records in question.") || !strings.Contains(m.Text, extended.DueAt.Format("2 January 2006")) {
		t.Errorf("the extension mail does not give the reason and new date:\n%s", m.Text)
	}
}
