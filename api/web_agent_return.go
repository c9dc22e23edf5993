package api

import (
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// agentReturnParam is what an authorized agent adds to a user_verification_url (DRP 1.0
// section 3.02.1): where the person goes back to once verified. dsr carries it through the
// verification forms and offers it as a link, never as an automatic redirect, since anyone
// holding the link could have set it.
const agentReturnParam = "redirect_to"

// maxAgentReturn bounds the address kept in forms and links.
const maxAgentReturn = 2048

// agentReturn is the way back to the agent that asked for the person.
type agentReturn struct {
	URL   string
	Agent string
	// Host is shown beside the link, so the person sees where it leads.
	Host string
}

// agentReturnOf reads the agent's redirect_to from the query or the posted form: only for
// a request an agent made through the protocol, and only an https address.
func agentReturnOf(c echo.Context, row *requestdb.Request) *agentReturn {
	raw := strings.TrimSpace(c.FormValue(agentReturnParam))
	if row.AgentKind != requestdb.AgentByDRP || raw == "" || len(raw) > maxAgentReturn {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil
	}
	return &agentReturn{URL: u.String(), Agent: row.AgentName, Host: u.Hostname()}
}

// withAgentReturn adds the way back to a page address.
func withAgentReturn(path string, r *agentReturn) string {
	if r == nil {
		return path
	}
	return path + "?" + url.Values{agentReturnParam: {r.URL}}.Encode()
}

// personVerified says the person has done all dsr asks of them to prove who they are: the
// mailbox, and the data points where those are required. The row's progress is written
// with the step that checks them, before the form's answer, so it is current here.
func personVerified(row *requestdb.Request) bool {
	answers := strings.HasPrefix(row.IdentityRequirement, string(domain.IdentityDataPoints))
	return row.EmailVerified && (row.IdentityVerified || !answers)
}
