package api

import (
	"crypto/hmac"
	"net/http"

	"github.com/labstack/echo/v4"
)

// The mails link to the status page, but the status cookie lives only in the browser that
// filled in the form. So each mailed link carries a link key, ?k=, bound to its request: the
// page trades it for the same HttpOnly cookie, scoped to the request, and redirects to the
// address without it, so the key stays out of the address bar and the history.
const linkKeyParam = "k"

// validLinkKey reports, in constant time, whether key is the link key of request id.
func (s *Server) validLinkKey(id, key string) bool {
	return key != "" && hmac.Equal([]byte(key), []byte(s.opts.Secret.StatusLinkKey(id)))
}

// acceptLinkKey turns a mailed link's key into the status cookie, then sends the browser to
// the same page without the key. A wrong key gets no cookie and no hint why.
func (s *Server) acceptLinkKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodGet || !r.URL.Query().Has(linkKeyParam) {
			return next(c)
		}
		id, key := c.Param("id"), r.URL.Query().Get(linkKeyParam)
		// An authorized agent adds the request_id it means to the user_verification_url
		// (DRP 1.0 section 3.02.1), which must name this very request.
		other := r.URL.Query().Has("request_id") && r.URL.Query().Get("request_id") != id
		if other || !s.validLinkKey(id, key) {
			return s.render(c, http.StatusUnauthorized, "no_access.html", s.publicPage(c, "no_access_title"))
		}
		s.setStatusCookie(c, id, key)
		// Only the key leaves the address: a ?lang= or ?format= beside it still applies.
		rest := r.URL.Query()
		rest.Del(linkKeyParam)
		target := r.URL.Path
		if len(rest) > 0 {
			target += "?" + rest.Encode()
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}
