package api

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/auth"
)

// ctxToken is where requireRole leaves the caller's token record.
const ctxToken = "dsr.token"

// Who may use each family of token routes. Auditors only read the record; admins may also.
var (
	staffRoles   = []auth.Role{auth.RoleAnalyst, auth.RoleAdmin}
	auditorRoles = []auth.Role{auth.RoleAuditor, auth.RoleAdmin}
)

// requireRole admits holders of a live API token with one of the roles, presented as a
// bearer token or through a dashboard session (see caller). No token, or one that is unknown
// or revoked, gets 401; a session change without its CSRF token, or a known token of
// another role, gets 403.
func (s *Server) requireRole(refusal string, allowed ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, err := s.caller(c)
			switch {
			case err != nil:
				return err
			case !slices.Contains(allowed, tok.Role):
				return fail(http.StatusForbidden, refusal)
			}
			c.Set(ctxToken, tok)
			return next(c)
		}
	}
}

func currentToken(c echo.Context) auth.Token {
	return c.Get(ctxToken).(auth.Token)
}
