package auth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dsr-project/dsr/internal/domain"
)

// ErrInvalid marks a bad role or token name given to Create.
var ErrInvalid = errors.New("invalid")

// Role is what a token's holder may do: the one role type of domain, of which a token holds
// only the staff and auditor roles.
type Role = domain.Role

// Roles a token may hold. Analysts and admins act on requests; auditors only read the record.
const (
	RoleAnalyst = domain.RoleAnalyst
	RoleAdmin   = domain.RoleAdmin
	RoleAuditor = domain.RoleAuditor
)

var roles = []Role{RoleAnalyst, RoleAdmin, RoleAuditor}

// ParseRole returns the token role named s, or an error wrapping ErrInvalid. The requester
// and system roles exist, but no token holds them.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role, want one of %v: %w", roles, ErrInvalid)
}
