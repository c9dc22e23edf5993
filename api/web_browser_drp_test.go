package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/drp"
	"github.com/dsr-project/dsr/internal/links"
)

// withDRPAgent turns the protocol on in a stack with one agent in its directory.
func withDRPAgent(t *testing.T, a *drpAgent) func(*api.Options, *activities.Activities) {
	t.Helper()
	dir, err := drp.ParseDirectory("agents.json", []byte("["+a.entry()+"]"))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *api.Options, _ *activities.Activities) {
		o.DRP = &drp.Options{Directory: dir, BusinessID: drpBusinessID, Links: links.Builder{Base: "http://x", Secret: testSecret}}
	}
}

// openByDRPAgent opens a request as an agent does over the protocol, setting up its token
// first, and returns the request's ID.
func (s *stack) openByDRPAgent(a *drpAgent, action, email string) string {
	s.t.Helper()
	if a.token == "" {
		var tok drp.TokenAnswer
		setup := s.do(http.MethodPost, "/v1/agent/"+a.id, a.sign(s.t, a.claims()), "")
		if setup.code != http.StatusOK || json.Unmarshal([]byte(setup.body), &tok) != nil {
			s.t.Fatalf("key setup = %d %s", setup.code, setup.body)
		}
		a.token = tok.Token
	}
	claims := a.claims()
	claims["exercise"], claims["regime"], claims["email"] = action, "ccpa", email
	var st drp.ExerciseStatus
	got := s.do(http.MethodPost, "/v1/data-rights-request", a.sign(s.t, claims), a.token)
	if got.code != http.StatusOK || json.Unmarshal([]byte(got.body), &st) != nil {
		s.t.Fatalf("exercise = %d %s", got.code, got.body)
	}
	return st.RequestID
}

// agentCodeFor reads the code mailed to the person for a request an agent made for them;
// codeFor reads the ones of their own requests.
func (s *stack) agentCodeFor(to, requestID string) string {
	s.t.Helper()
	var code string
	s.eventually("the code mail of the agent's request "+requestID, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		for _, m := range msgs {
			if strings.Contains(m.Subject, "privacy request for you") && strings.Contains(m.Text, requestID) {
				code = codeInMail.FindString(m.Text)
				return code != "", m.Text
			}
		}
		return false, "no code mail yet"
	})
	return code
}
