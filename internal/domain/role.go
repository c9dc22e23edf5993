package domain

// Role is who acts on a request: a staff member's token role, the requester, or dsr itself.
// It is one type for the tokens (package auth) and the workflow's actors, so a role checked
// at sign-in is the role the audit trail records.
//
// Unlike the other enums here, Role decodes from JSON without a check: actors recorded in
// workflow histories must always decode, and whoever takes a role from outside parses it
// (auth.ParseRole for tokens) while the workflow's validators decide what it may do.
type Role string

// Roles. Analysts and admins act on requests and auditors only read the record; requester
// and system name the other actors of a request's audit trail and never hold a token.
const (
	RoleAnalyst   Role = "analyst"
	RoleAdmin     Role = "admin"
	RoleAuditor   Role = "auditor"
	RoleRequester Role = "requester"
	RoleSystem    Role = "system"
)

var roles = []Role{RoleAnalyst, RoleAdmin, RoleAuditor, RoleRequester, RoleSystem}

// ParseRole returns the role named s, or an error wrapping ErrInvalid.
func ParseRole(s string) (Role, error) { return parseEnum("role", s, roles) }

// Staff reports whether the role may act on requests: approve, deny, extend and the like.
func (r Role) Staff() bool { return r == RoleAnalyst || r == RoleAdmin }

func (r Role) String() string { return string(r) }
