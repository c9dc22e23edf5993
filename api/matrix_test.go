package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/auth"
)

// audience is who may use a route.
type audience string

const (
	anyone    audience = "anyone"
	requester audience = "requester" // the holder of the request's status token
	staff     audience = "staff"     // analysts and admins
	auditors  audience = "auditors"  // auditors and admins
	decoders  audience = "decoders"  // analysts, admins and auditors: the codec's decode
	admins    audience = "admins"    // admins only
	signed    audience = "signed"    // a webhook store's signature; no token opens it
)

// routeAudience is the access matrix. Every route the server registers must be here, so a
// new route cannot go unchecked.
var routeAudience = map[string]audience{
	"GET /healthz":                                     anyone,
	"GET /readyz":                                      anyone,
	"GET /api/v1/openapi.yaml":                         anyone,
	"GET /api/v1/openapi.json":                         anyone,
	"GET /api/v1/dev/mail":                             anyone, // dsr dev only
	"GET /dev/mail":                                    anyone, // dsr dev only
	"POST /api/v1/requests":                            anyone,
	"GET /api/v1/requests/:id":                         requester,
	"GET /api/v1/requests/:id/report":                  requester,
	"GET /api/v1/requests/:id/report.zip":              requester,
	"POST /api/v1/requests/:id/verify":                 requester,
	"POST /api/v1/requests/:id/resend-code":            requester,
	"POST /api/v1/requests/:id/identity":               requester,
	"GET /api/v1/requests/:id/receipt":                 requester,
	"POST /api/v1/requests/:id/appeal":                 requester,
	"GET /api/v1/requests/:id/appeal":                  requester,
	"GET /api/v1/log/checkpoint":                       anyone,
	"GET /api/v1/log/public-key":                       anyone,
	"GET /api/v1/log/entries":                          anyone,
	"GET /api/v1/log/proof/inclusion":                  anyone,
	"GET /api/v1/log/proof/consistency":                anyone,
	"GET /api/v1/admin/requests":                       staff,
	"POST /api/v1/admin/requests":                      staff,
	"GET /api/v1/admin/requests/:id":                   staff,
	"POST /api/v1/admin/requests/:id/:action":          staff,
	"GET /api/v1/admin/metrics":                        staff,
	"GET /api/v1/admin/appeals":                        staff,
	"POST /api/v1/admin/requests/:id/appeal/decision":  staff,
	"POST /api/v1/admin/requests/:id/appeal/extension": staff,
	"GET /api/v1/audit/requests/:id/history":           auditors,
	"GET /api/v1/audit/requests/:id/evidence":          auditors,
	"GET /api/v1/audit/events":                         auditors,
	"GET /api/v1/audit/public-key":                     auditors,
	"GET /api/v1/admin/tasks":                          staff,
	"POST /api/v1/admin/tasks/:id/complete":            staff,
	"POST /api/v1/callbacks/:id":                       signed,
	"POST /codec/encode":                               staff,
	"POST /codec/decode":                               decoders,
	"OPTIONS /codec/encode":                            anyone, // CORS preflight
	"OPTIONS /codec/decode":                            anyone, // CORS preflight
	"POST /api/v1/session":                             anyone, // the token is in the body
	"DELETE /api/v1/session":                           anyone, // signs out whatever cookie it has
	// Web pages: the requester's by the status-token cookie (or header), the dashboard's by
	// the session cookie (or a bearer token), each answering with a page.
	"GET /static/:name":                         anyone,
	"GET /brand.css":                            anyone,
	"GET /brand/logo":                           anyone,
	"GET /":                                     anyone,
	"POST /":                                    anyone,
	"GET /requests/:id":                         requester,
	"GET /requests/:id/verify":                  requester,
	"POST /requests/:id/verify":                 requester,
	"POST /requests/:id/resend-code":            requester,
	"POST /requests/:id/identity":               requester,
	"GET /requests/:id/report":                  requester,
	"GET /requests/:id/report.zip":              requester,
	"GET /requests/:id/receipt.json":            requester,
	"GET /admin":                                anyone,
	"GET /admin/requests":                       staff,
	"GET /admin/requests/:id":                   staff,
	"POST /admin/requests/:id/:action":          staff,
	"GET /audit":                                auditors,
	"GET /admin/tasks":                          staff,
	"GET /admin/tasks/:id":                      staff,
	"POST /admin/tasks/complete":                staff,
	"GET /admin/metrics":                        staff,
	"POST /admin/requests/bulk":                 staff,
	"POST /admin/requests/filter":               staff,
	"GET /admin/staff-request":                  staff,
	"POST /admin/staff-request":                 staff,
	"GET /admin/datamap":                        admins,
	"POST /admin/datamap":                       admins,
	"POST /requests/:id/appeal":                 requester,
	"GET /admin/appeals":                        staff,
	"POST /admin/requests/:id/appeal/:verb":     staff,
	"GET /api/v1/admin/requests/:id/permission": staff,
	"GET /agent":                                anyone,
	"POST /agent":                               anyone,
	"GET /admin/requests/:id/permission":        staff,
}

// allowed says what each caller gets from each audience: 0 for "let through", whatever the
// handler then answers, or the refusal.
var allowed = map[audience]map[string]int{
	anyone:    {"anonymous": 0, "requester": 0, "analyst": 0, "admin": 0, "auditor": 0},
	requester: {"anonymous": 401, "requester": 0, "analyst": 401, "admin": 401, "auditor": 401},
	staff:     {"anonymous": 401, "requester": 401, "analyst": 0, "admin": 0, "auditor": 403},
	auditors:  {"anonymous": 401, "requester": 401, "analyst": 403, "admin": 0, "auditor": 0},
	decoders:  {"anonymous": 401, "requester": 401, "analyst": 0, "admin": 0, "auditor": 0},
	admins:    {"anonymous": 401, "requester": 401, "analyst": 403, "admin": 0, "auditor": 403},
	signed:    {"anonymous": 401, "requester": 401, "analyst": 401, "admin": 401, "auditor": 401},
}

func TestEveryRouteEnforcesItsRoles(t *testing.T) {
	h := newHarness(t, true)
	req := h.open()
	callers := map[string]string{
		"anonymous": "",
		"requester": req.StatusToken,
		"analyst":   h.token("carol", auth.RoleAnalyst),
		"admin":     h.token("dana", auth.RoleAdmin),
		"auditor":   h.token("ann", auth.RoleAuditor),
	}
	// Each role also signs in to the dashboard; its cookie, with the CSRF token, must open
	// exactly what its bearer token opens.
	sessions := map[string]dashboard{}
	for _, role := range []string{"analyst", "admin", "auditor"} {
		sessions[role] = h.signIn(callers[role])
	}
	seen := map[string]bool{}
	for _, r := range h.server.Routes() {
		key := r.Method + " " + r.Path
		seen[key] = true
		who, ok := routeAudience[key]
		if !ok {
			t.Errorf("route %s is not in the access matrix", key)
			continue
		}
		path := strings.NewReplacer(":id", req.ID, ":action", "notes").Replace(r.Path)
		body := ""
		if r.Method == http.MethodPost {
			body = "{}"
		}
		for caller, token := range callers {
			a := h.do(r.Method, path, "", body, token)
			want := allowed[who][caller]
			switch {
			case want == 0 && (a.code == http.StatusUnauthorized || a.code == http.StatusForbidden):
				t.Errorf("%s as %s = %d %s, want it let through", key, caller, a.code, a.body)
			case want != 0 && a.code != want:
				t.Errorf("%s as %s = %d %s, want %d", key, caller, a.code, a.body, want)
			}
		}
		if key == "DELETE /api/v1/session" {
			continue // it would sign the sessions out
		}
		for role, d := range sessions {
			a := d.send(r.Method, path, body, d.answer.CSRFToken)
			want := allowed[who][role]
			switch {
			case want == 0 && (a.code == http.StatusUnauthorized || a.code == http.StatusForbidden):
				t.Errorf("%s as %s by session = %d %s, want it let through", key, role, a.code, a.body)
			case want != 0 && a.code != want:
				t.Errorf("%s as %s by session = %d %s, want %d", key, role, a.code, a.body, want)
			}
		}
	}
	for key := range routeAudience {
		if !seen[key] {
			t.Errorf("the access matrix lists %s, which the server does not register", key)
		}
	}
}
