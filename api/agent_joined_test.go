package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

// An agent's request for a person who already has an open request of the same type joins
// that one, as any duplicate does, and the agent is told so rather than left waiting.
func TestAnAgentsRequestThatJoinsThePersonsEarlierOneTellsTheAgent(t *testing.T) {
	s := startStack(t)
	analyst := s.token("ana", auth.RoleAnalyst)
	correction := `"type":"correct","email":"jo@example.com","details":{"changes":[{"field":"name","value":"Jo Jones"}]}`
	first := s.open(`{` + correction + `}`)
	s.verify(first, "jo@example.com")
	s.awaitRequesterStatus(first, domain.StatusPendingReview) // open, holding its claim
	permission, err := json.Marshal(signedPermission)
	if err != nil {
		t.Fatal(err)
	}
	byAgent := s.open(`{` + correction + `,"agent":{"name":"` + agentName + `","contact":"` + agentContact + `","permission":` + string(permission) + `}}`)
	s.confirmAsThePerson(byAgent.ID, "jo@example.com", analyst)
	v := s.awaitStaffStatus(byAgent.ID, analyst, domain.StatusCancelled)
	if v.Request.JoinedTo != first.ID {
		t.Errorf("the agent's request joined %q, want the person's earlier %s", v.Request.JoinedTo, first.ID)
	}
	m := s.mailAbout(agentContact, byAgent.ID)
	if !strings.Contains(m.Text, "already had an open request of the same kind") || strings.Contains(m.Text, first.ID) || strings.Contains(m.Text, "http") {
		t.Errorf("the agent's mail does not say the request joined an earlier one, or says too much:\n%s", m.Text)
	}
}
