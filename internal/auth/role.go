package auth

import (
	"errors"
	"fmt"
)

// ErrInvalid marks a bad role or token name given to Create.
var ErrInvalid = errors.New("invalid")

// Role is what a token's holder may do.
type Role string

// Roles. Analysts and admins act on requests; auditors only read the record.
const (
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
	RoleAuditor Role = "auditor"
)

var roles = []Role{RoleAnalyst, RoleAdmin, RoleAuditor}

// ParseRole returns the role named s, or an error wrapping ErrInvalid.
func ParseRole(s string) (Role, error) {
	for _, r := range roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role, want one of %v: %w", roles, ErrInvalid)
}

// Staff reports whether the role may act on requests: approve, deny, extend and the like.
func (r Role) Staff() bool { return r == RoleAnalyst || r == RoleAdmin }

func (r Role) String() string               { return string(r) }
func (r Role) MarshalText() ([]byte, error) { return []byte(r), nil }

func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
