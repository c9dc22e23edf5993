package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// signedPermission is a small PDF, as an agent would attach the permission a person signed.
var signedPermission = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% I let Rights Helper Ltd act for me. Signed, Pat\n%%EOF\n")

const agentName, agentContact = "Rights Helper Ltd", "desk@rightshelper.example"

// agentIntake is an intake body of an agent asking for person with the given permission.
func agentIntake(t *testing.T, typ, person string, permission []byte) string {
	t.Helper()
	body := map[string]any{
		"type": typ, "email": person,
		"agent": map[string]any{"name": agentName, "contact": agentContact, "permission": permission},
	}
	if typ == string(domain.TypeRestrict) {
		body["details"] = map[string]any{"limits": []string{"marketing_email"}}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// mailsTo are the dev mailbox's messages to an address, newest first.
func (s *stack) mailsTo(to string) []api.DevMail {
	s.t.Helper()
	var msgs []api.DevMail
	s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
	return msgs
}

// mailAbout waits for a mail to to whose subject holds subject, and returns it.
func (s *stack) mailAbout(to, subject string) api.DevMail {
	s.t.Helper()
	var found api.DevMail
	s.eventually("a mail to "+to+" about "+subject, func() (bool, string) {
		for _, m := range s.mailsTo(to) {
			if strings.Contains(m.Subject, subject) {
				found = m
				return true, ""
			}
		}
		return false, "no such mail yet"
	})
	return found
}

var formTokenField = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

// confirmAsThePerson does what the person does with the code mail: opens its link, which
// lets their browser into the request's pages, and enters the code there.
func (s *stack) confirmAsThePerson(id, person, staffToken string) {
	s.t.Helper()
	mail := s.mailAbout(person, agentName)
	code := codeInMail.FindString(mail.Text)
	link := regexp.MustCompile(`http://x/requests/` + regexp.QuoteMeta(id) + `/verify\?k=[A-Za-z0-9_-]+`).FindString(mail.Text)
	if code == "" || link == "" {
		s.t.Fatalf("the code mail has no code or no link:\n%s", mail.Text)
	}
	s.eventually("the workflow to hold the code", func() (bool, string) {
		var view api.StaffView
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+id, "", staffToken, &view)
		return view.State != nil && view.State.CodeAttemptsLeft > 0, string(view.Request.Status)
	})
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(strings.Replace(link, "http://x", s.base, 1))
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formTokenField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		s.t.Fatalf("the mailed link = %d, want the verification page:\n%s", resp.StatusCode, page)
	}
	resp, err = browser.PostForm(s.base+"/requests/"+id+"/verify", url.Values{"code": {code}, "form_token": {string(m[1])}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("entering the code = %d", resp.StatusCode)
	}
}

func TestAgentRequestsRunThroughTheRealEngine(t *testing.T) {
	s := startStack(t)
	admin := s.token("ines", auth.RoleAdmin)

	t.Run("the person confirms by the mailed code, staff accept the permission, and the agent hears only the outcome", func(t *testing.T) {
		s.t = t
		const person = "pat@example.com"
		opened := s.open(agentIntake(t, "restrict", person, signedPermission))
		if opened.StatusToken != "" {
			t.Fatal("the agent was handed a status token")
		}
		mail := s.mailAbout(person, agentName)
		if !strings.Contains(mail.Text, agentName+" says they are your authorized agent") {
			t.Errorf("the code mail does not say who asked:\n%s", mail.Text)
		}
		if got := s.mailsTo(agentContact); len(got) != 0 {
			t.Errorf("the agent was mailed before the outcome: %+v", got)
		}
		s.confirmAsThePerson(opened.ID, person, admin)

		view := s.awaitStaffStatus(opened.ID, admin, domain.StatusPendingReview)
		if a := view.Request.Agent; a == nil || a.Name != agentName || a.Contact != agentContact || a.Kind != "form" || a.Permission != requestdb.PermissionPending {
			t.Fatalf("staff see the agent as %+v", a)
		}
		if a := s.do(http.MethodPost, "/api/v1/admin/requests/"+opened.ID+"/approve", `{}`, admin); a.code != http.StatusConflict {
			t.Errorf("approve before the permission = %d %s, want 409", a.code, a.body)
		}
		file := s.do(http.MethodGet, "/api/v1/admin/requests/"+opened.ID+"/permission", "", admin)
		if file.code != http.StatusOK || file.body != string(signedPermission) || file.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(file.header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("permission download = %d %q %q", file.code, file.header.Get("Content-Type"), file.header.Get("Content-Disposition"))
		}
		s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+opened.ID+"/accept-permission", `{"reason":"signed and dated by Pat"}`, admin, nil)
		view = s.awaitStaffStatus(opened.ID, admin, domain.StatusCompleted)
		var opens, accepted int
		for _, e := range view.Audit {
			if e.Action == requestdb.ActionAccessed && strings.Contains(string(e.Details), "permission") {
				opens++
			}
			if e.Action == "permission_accepted" {
				accepted++
			}
		}
		if opens != 1 || accepted != 1 {
			t.Errorf("audit: %d permission views, %d acceptances; want 1 and 1", opens, accepted)
		}
		s.mailAbout(person, "is complete")
		outcome := s.mailAbout(agentContact, "authorized agent")
		if !strings.Contains(outcome.Text, "We have finished") || strings.Contains(outcome.Text, person) || strings.Contains(outcome.Text, "http") {
			t.Errorf("the agent's outcome mail should say it is done and hold no data or link:\n%s", outcome.Text)
		}
	})

	t.Run("a refused permission denies the request: the person is told why, the agent only that it was denied", func(t *testing.T) {
		s.t = t
		const person, reason = "quinn@example.com", "the permission is not signed by the person"
		opened := s.open(agentIntake(t, "review", person, signedPermission))
		s.confirmAsThePerson(opened.ID, person, admin)
		s.awaitStaffStatus(opened.ID, admin, domain.StatusPendingReview)
		s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+opened.ID+"/refuse-permission", `{"reason":"`+reason+`"}`, admin, nil)
		view := s.awaitStaffStatus(opened.ID, admin, domain.StatusDenied)
		if view.Request.Agent.Permission != requestdb.PermissionRefused || view.Request.StatusReason != reason {
			t.Errorf("row: permission %q, reason %q", view.Request.Agent.Permission, view.Request.StatusReason)
		}
		if denial := s.mailAbout(person, "Decision"); !strings.Contains(denial.Text, reason) {
			t.Errorf("the person's denial does not give the reason:\n%s", denial.Text)
		}
		outcome := s.mailAbout(agentContact, opened.ID)
		if !strings.Contains(outcome.Text, "could not act") || strings.Contains(outcome.Text, reason) || strings.Contains(outcome.Text, person) {
			t.Errorf("the agent's outcome mail should say denied and nothing more:\n%s", outcome.Text)
		}
	})

	t.Run("the queue marks and filters agents' requests, and metrics count them by agent", func(t *testing.T) {
		s.t = t
		s.open(`{"type":"restrict","email":"self@example.com","details":{"limits":["marketing_email"]}}`)
		var list api.RequestList
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests?by_agent=true", "", admin, &list)
		if len(list.Requests) != 2 {
			t.Fatalf("by_agent=true lists %d requests, want the 2 agents made", len(list.Requests))
		}
		for _, r := range list.Requests {
			if r.AgentName != agentName {
				t.Errorf("request %s lists agent %q", r.ID, r.AgentName)
			}
		}
		var m api.MetricsReport
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/metrics", "", admin, &m)
		if len(m.ByAgent) != 1 || m.ByAgent[0].Agent != agentName || m.ByAgent[0].Received != 2 || m.ByAgent[0].Completed != 1 || m.ByAgent[0].Denied != 1 {
			t.Errorf("metrics by agent = %+v", m.ByAgent)
		}
		if m.Totals.Received != 3 || m.Agents.Received != 2 {
			t.Errorf("received: %d in all, %d by agents; want 3 and 2", m.Totals.Received, m.Agents.Received)
		}
	})
}

func TestAgentIntakeRefusesPermissionsThatAreNotASignedFile(t *testing.T) {
	h := newHarness(t, true)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	cases := []struct {
		name       string
		permission []byte
		want       string
	}{
		{"no file", nil, "is required"},
		{"a text file", []byte("I, Pat, give permission. (not signed)"), "is not a PDF, PNG or JPEG file"},
		{"a script named like a PDF", []byte("<html><script>alert(1)</script>%PDF-1.4"), "is not a PDF, PNG or JPEG file"},
		{"a file over 5 MB", append(bytes.Clone(png), make([]byte, 5<<20)...), "is larger than 5 MB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do(http.MethodPost, "/api/v1/requests", "application/json", agentIntake(t, "restrict", "pat@example.com", tc.permission), "")
			if a.code != http.StatusUnprocessableEntity || !strings.HasPrefix(a.errorBody(t).Fields["agent.permission"], tc.want) {
				t.Fatalf("= %d %s, want 422 naming agent.permission %q", a.code, a.body, tc.want)
			}
		})
	}
	t.Run("an agent without a name or an address", func(t *testing.T) {
		body := `{"type":"restrict","email":"pat@example.com","details":{"limits":["marketing_email"]},"agent":{"name":" ","contact":"not-an-address","permission":"` +
			base64.StdEncoding.EncodeToString(png) + `"}}`
		a := h.do(http.MethodPost, "/api/v1/requests", "application/json", body, "")
		f := a.errorBody(t).Fields
		if a.code != http.StatusUnprocessableEntity || f["agent.name"] == "" || f["agent.contact"] == "" || f["agent.permission"] != "" {
			t.Fatalf("= %d %s, want 422 naming agent.name and agent.contact only", a.code, a.body)
		}
	})
	t.Run("staff opening a request for an agent", func(t *testing.T) {
		admin := h.token("ines", auth.RoleAdmin)
		a := h.do(http.MethodPost, "/api/v1/admin/requests", "application/json", agentIntake(t, "restrict", "pat@example.com", signedPermission), admin)
		if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["agent"] == "" {
			t.Fatalf("= %d %s, want 422 naming agent: the person must confirm an agent's request", a.code, a.body)
		}
	})
	t.Run("a body past the intake's limit", func(t *testing.T) {
		big := `{"type":"restrict","email":"pat@example.com","details":{"limits":["marketing_email"]},"agent":{"name":"A","contact":"a@example.org","permission":"` +
			strings.Repeat("A", api.MaxIntakeBytes) + `"}}`
		if a := h.do(http.MethodPost, "/api/v1/requests", "application/json", big, ""); a.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("= %d %s, want 413", a.code, a.body[:min(len(a.body), 200)])
		}
	})
}
