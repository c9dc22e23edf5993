package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/auth"
)

const (
	sessionPath = "/api/v1/session"
	// SessionCookie names the dashboard's session cookie.
	SessionCookie = "dsr_session"
	// SessionLife is how long a dashboard session lasts; signing in again starts a new one.
	SessionLife = 12 * time.Hour
	// headerCSRF carries the session's CSRF token on state-changing requests; a web form
	// sends it as the field csrfField instead.
	headerCSRF = "X-CSRF-Token"
	csrfField  = "csrf_token"
	// codeCSRF is the code of a cookie-authenticated change without its CSRF token.
	codeCSRF = "csrf"
)

var (
	errNoCaller = fail(http.StatusUnauthorized, "a valid API token or dashboard session is required")
	errCSRF     = failCode(http.StatusForbidden, codeCSRF, "this change needs the session's CSRF token in the X-CSRF-Token header")
)

// SessionForm is the body of POST /api/v1/session.
type SessionForm struct {
	Token string `json:"token"`
}

// SessionAnswer says who signed in and gives the token that state-changing requests must
// carry in X-CSRF-Token (or a form's csrf_token field).
type SessionAnswer struct {
	Role      auth.Role `json:"role"`
	Name      string    `json:"name"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// signIn exchanges an API token for a session cookie. The body must be JSON, which a page
// on another site cannot send without a CORS preflight, so no site can sign a browser in
// under someone else's token.
func (s *Server) signIn(c echo.Context) error {
	var form SessionForm
	if err := decodeJSON(c, &form, false); err != nil {
		return err
	}
	form.Token = strings.TrimSpace(form.Token)
	if form.Token == "" {
		return invalidFields(map[string]string{"token": "is required"})
	}
	ctx := c.Request().Context()
	tok, err := s.opts.Tokens.Authenticate(ctx, form.Token)
	switch {
	case errors.Is(err, auth.ErrUnauthorized):
		return fail(http.StatusUnauthorized, "a valid API token is required")
	case err != nil:
		return unavailable(err)
	}
	id, session, err := s.opts.Sessions.Create(ctx, tok.ID, s.opts.Now(), SessionLife)
	if err != nil {
		return unavailable(err)
	}
	s.setSessionCookie(c, id, int(SessionLife/time.Second))
	s.log.Info("dashboard signed in", "token_id", tok.ID, "role", tok.Role)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, SessionAnswer{Role: tok.Role, Name: tok.Name, CSRFToken: s.csrfToken(id), ExpiresAt: session.ExpiresAt})
}

// signOut ends the cookie's session and clears the cookie. Ending a live session needs its
// CSRF token like any other change; a dead one is deleted without.
func (s *Server) signOut(c echo.Context) error {
	if id := sessionID(c); id != "" {
		ctx := c.Request().Context()
		_, err := s.sessionToken(ctx, id)
		switch {
		case err == nil && !s.validCSRF(c, id):
			return errCSRF
		case err != nil && !errors.Is(err, auth.ErrUnauthorized):
			return unavailable(err)
		}
		if err := s.opts.Sessions.Delete(ctx, id); err != nil {
			return unavailable(err)
		}
	}
	s.setSessionCookie(c, "", -1)
	return c.NoContent(http.StatusNoContent)
}

// setSessionCookie sets the cookie for maxAge seconds, or clears it when maxAge is
// negative. Strict SameSite keeps browsers from sending it with requests other sites start.
func (s *Server) setSessionCookie(c echo.Context, id string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(c.Request()),
	})
}

// overTLS reports whether the browser reached us over TLS: directly, through a trusted
// proxy that says so, or as the operator declares with Options.SecureCookies.
func (s *Server) overTLS(r *http.Request) bool {
	return r.TLS != nil || s.opts.SecureCookies ||
		(s.trustedProxy(remoteIP(r)) && strings.EqualFold(r.Header.Get(echo.HeaderXForwardedProto), "https"))
}

// sessionID is the value of the session cookie, or "".
func sessionID(c echo.Context) string {
	cookie, err := c.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return cookie.Value
}

// caller authenticates the request by its bearer token or, when it has none, by its session
// cookie. A cookie is sent by the browser on its own, so a change made with one must also
// carry the session's CSRF token, which only the dashboard's own pages know.
func (s *Server) caller(c echo.Context) (auth.Token, error) {
	ctx := c.Request().Context()
	bearer := bearerToken(c)
	id := sessionID(c)
	var tok auth.Token
	var err error
	switch {
	case bearer != "" || id == "" || s.opts.Sessions == nil:
		tok, err = s.opts.Tokens.Authenticate(ctx, bearer)
	default:
		tok, err = s.sessionToken(ctx, id)
	}
	switch {
	case errors.Is(err, auth.ErrUnauthorized):
		return auth.Token{}, errNoCaller
	case err != nil:
		return auth.Token{}, unavailable(err)
	case bearer == "" && changesState(c.Request().Method) && !s.validCSRF(c, id):
		return auth.Token{}, errCSRF
	}
	return tok, nil
}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// sessionToken returns the live token a live session was opened with. An unknown or expired
// session, or one whose token was revoked since, returns auth.ErrUnauthorized.
func (s *Server) sessionToken(ctx context.Context, id string) (auth.Token, error) {
	return s.opts.Sessions.Token(ctx, id, s.opts.Now())
}

// csrfToken is bound to the session without being stored: an HMAC of its ID.
func (s *Server) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive("csrf"))
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether the request carries the session's CSRF token, in the header or
// in a urlencoded form's csrf_token field.
func (s *Server) validCSRF(c echo.Context, sessionID string) bool {
	r := c.Request()
	sent := r.Header.Get(headerCSRF)
	if sent == "" && hasMediaType(c, echo.MIMEApplicationForm) && r.ParseForm() == nil {
		sent = r.PostForm.Get(csrfField)
	}
	return sent != "" && hmac.Equal([]byte(sent), []byte(s.csrfToken(sessionID)))
}

// purgeSessions deletes expired sessions, and those of revoked tokens, every hour until ctx
// ends.
func (s *Server) purgeSessions(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := s.opts.Sessions.Purge(ctx, s.opts.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("purge of dashboard sessions failed", "error", err)
		case n > 0:
			s.log.Debug("dashboard sessions purged", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
