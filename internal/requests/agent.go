package requests

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// Agent is an authorized agent who makes a request for a person (CCPA regulations §7063).
// The request stays the person's: mail that proves the mailbox or carries data goes to the
// person, and the agent is only told the outcome.
type Agent struct {
	Name, Contact string
	// Kind is how the agent came: AgentByForm (the web form or the API, with a signed
	// permission staff review) or AgentByDRP (the Data Rights Protocol).
	Kind string
	// AgentID is the agent's ID in the DRP agent directory; empty for a form agent.
	AgentID string
}

// Kinds of agent.
const (
	AgentByForm = requestdb.AgentByForm
	AgentByDRP  = requestdb.AgentByDRP
)

// AgentForm is what an agent adds to an intake: who they are and the permission the
// person signed, a PDF, PNG or JPEG file (base64 in JSON).
type AgentForm struct {
	Name       string `json:"name"`
	Contact    string `json:"contact"`
	Permission []byte `json:"permission"`
}

// MaxPermissionBytes bounds a signed permission file.
const MaxPermissionBytes = 5 << 20

// permissionTypes are the files a permission may be, as their first bytes show them.
var permissionTypes = map[string]bool{"application/pdf": true, "image/png": true, "image/jpeg": true}

// validateAgent checks an agent's part of an intake into fields, and returns the agent and
// the permission when it is whole.
func validateAgent(form AgentForm, fields map[string]string) (*Agent, *requestdb.Permission) {
	name := strings.Join(strings.Fields(form.Name), " ")
	switch {
	case name == "":
		fields["agent.name"] = "is required"
	case len(name) > 200:
		fields["agent.name"] = "is longer than 200 characters"
	}
	contact, err := domain.MailboxEmail(form.Contact)
	if err != nil {
		fields["agent.contact"] = "is not a valid e-mail address"
	}
	// The content type is what the file's own bytes say, never what the sender claims.
	kind := http.DetectContentType(form.Permission)
	kind, _, _ = strings.Cut(kind, ";")
	switch {
	case len(form.Permission) == 0:
		fields["agent.permission"] = "is required: the permission the person signed, as PDF, PNG or JPEG"
	case len(form.Permission) > MaxPermissionBytes:
		fields["agent.permission"] = "is larger than 5 MB"
	case !permissionTypes[kind]:
		fields["agent.permission"] = "is not a PDF, PNG or JPEG file"
	}
	if _, bad := fields["agent.name"]; bad {
		return nil, nil
	}
	if _, bad := fields["agent.contact"]; bad {
		return nil, nil
	}
	if _, bad := fields["agent.permission"]; bad {
		return nil, nil
	}
	return &Agent{Name: name, Contact: contact, Kind: AgentByForm}, &requestdb.Permission{ContentType: kind, Data: form.Permission}
}

// agentColumns are the request row's columns for the agent of o, if any.
func agentColumns(a *Agent) requestdb.Agent {
	if a == nil {
		return requestdb.Agent{}
	}
	out := requestdb.Agent{AgentName: a.Name, AgentContact: a.Contact, AgentKind: a.Kind}
	if a.Kind == AgentByForm {
		out.AgentPermission = requestdb.PermissionPending
	}
	return out
}

// ReadPermission records in the audit log that actor opens the agent's signed permission of
// a request, and only then returns it. A request without one is not found.
func (s *Service) ReadPermission(ctx context.Context, requestID string, actor workflows.Actor) (requestdb.Permission, error) {
	row, err := s.Find(ctx, requestID)
	if err != nil {
		return requestdb.Permission{}, err
	}
	if !row.ByAgent() {
		return requestdb.Permission{}, errNoPermission
	}
	if err := s.RecordRead(ctx, row.ID, actor, ReadPermissionFile); err != nil {
		return requestdb.Permission{}, err
	}
	p, err := s.opts.Store.GetPermission(ctx, row.ID)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return requestdb.Permission{}, errNoPermission
	case err != nil:
		return requestdb.Permission{}, domain.Unavailable(err)
	}
	return p, nil
}

var errNoPermission = domain.Errorf(domain.CodeNotFound, "the request has no agent's permission")
