package api

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
)

// webFiles are the pages' templates and static files, built into the binary so that no
// build step or file on disk is needed to serve them. A directory embed skips files named
// _*, so the shared parts are named apart.
//
//go:embed web web/templates/_*.html
var webFiles embed.FS

// contentSecurityPolicy allows only this server's own scripts, styles and forms: no inline
// script, no framing, no plug-ins.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// IsPagePath reports whether a path belongs to the web pages rather than to the JSON API,
// which openapi.yaml describes.
func IsPagePath(p string) bool {
	return p == "/" || p == agentFormPath || p == "/admin" || p == brandCSSPath || p == brandLogoPath || strings.HasPrefix(p, "/admin/") || p == "/audit" || strings.HasPrefix(p, "/audit/") ||
		strings.HasPrefix(p, "/requests/") || strings.HasPrefix(p, "/static/")
}

// webPages holds one template set per page, each the layout plus that page.
var webPages = parsePages()

var webFuncs = template.FuncMap{
	"date":       func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"datetime":   func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") },
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"words":      func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"isTerminal": func(s domain.Status) bool { return s.Terminal() },
	"derefTime":  func(t *time.Time) time.Time { return *t },
	"inc":        func(i int) int { return i + 1 },
	"isStaff":    func(r auth.Role) bool { return slices.Contains(staffRoles, r) },
	"isAuditor":  func(r auth.Role) bool { return slices.Contains(auditorRoles, r) },
	"action":     newActionForm,
	"first": func(vs []string) string {
		if len(vs) == 0 {
			return ""
		}
		return vs[0]
	},

	// The privacy team's words, in web_staff_text.go.
	"staffStatus":     staffStatus,
	"staffPermission": staffPermission,
	"staffStatusOf":   staffStatusOf,
	"staffType":       staffType,
	"staffAction":     staffAction,
	"storeState":      storeState,
	"staffJuris":      staffJurisdiction,
	"appealStatus":    appealStatus,
	"columnAction":    columnAction,
	// On audit pages the order of events a second apart matters.
	"datetimeSeconds": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04:05 MST") },
}

func parsePages() map[string]*template.Template {
	// Files named _*.html hold parts that several pages share; they are parsed with the layout.
	layout := template.Must(template.New("layout.html").Funcs(webFuncs).ParseFS(webFiles, "web/templates/layout.html", "web/templates/_*.html"))
	names, err := fs.Glob(webFiles, "web/templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(webFiles, name))
	}
	return pages
}

// webPage is what the layout needs of every page.
type webPage struct {
	Title string
	// loc speaks the requester's language on public pages; nil speaks English, as the
	// staff pages do.
	loc *i18n.Localizer
	// Brand is the organisation's, on public pages; Switch offers the other languages.
	Brand  *Brand
	Switch []languageLink
	// Staff is the signed-in staff member's name on dashboard pages, Role their role, which
	// decides the links the navigation offers.
	Staff string
	Role  auth.Role
	// CSRF is the session's CSRF token, which every dashboard form carries.
	CSRF string
	// Refresh, when above zero, reloads the page after that many seconds.
	Refresh int
}

// localizer is the page's language, English when none was chosen.
func (p webPage) localizer() *i18n.Localizer {
	if p.loc == nil {
		return i18n.Default().For(i18n.Fallback)
	}
	return p.loc
}

// T is a message of the catalogue in the page's language; see i18n.Localizer.T.
func (p webPage) T(id string, args ...any) string { return p.localizer().T(id, args...) }

// Lang is the page's language, for <html lang>.
func (p webPage) Lang() string { return p.localizer().Code() }

// Date and DateTime spell a time in the page's language.
func (p webPage) Date(t time.Time) string     { return p.localizer().Date(t) }
func (p webPage) DateTime(t time.Time) string { return p.localizer().DateTime(t) }

// StatusText, StepText and TypeText are the catalogue's words for a status, a timeline
// step and a request type, in the page's language; staff pages use web_staff_text.go's.
func (p webPage) StatusText(st domain.Status) string { return localStatusText(p.localizer(), st) }
func (p webPage) StepText(action string) string      { return localActionText(p.localizer(), action) }
func (p webPage) TypeText(t domain.RequestType) string {
	return localTypeText(p.localizer(), t)
}

// Words names a kind of data in the page's language, or spells its name out.
func (p webPage) Words(name string) string {
	if s, err := p.localizer().Translate("category_" + name); err == nil {
		return s
	}
	return strings.ReplaceAll(name, "_", " ")
}

// webHeaders sets the security headers of every page and static file.
func webHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

// webRoutes registers the requester pages, the dashboard pages and their static files.
func (s *Server) webRoutes() {
	e := s.echo
	e.Pre(headAsGet)
	e.GET("/static/:name", s.staticFile, webHeaders)
	s.brandRoutes()
	s.requesterPageRoutes()
	s.agentPageRoutes()
	s.adminPageRoutes()
	s.auditPageRoutes()
}

// headAsGet answers HEAD on a page as GET does, without the body: every server must
// support HEAD (RFC 9110 §9.1), and Echo routes by method, so HEAD would otherwise get 405.
// Echo routes the request it was handed, so the method changes in place, as Echo's own
// method override does, and is restored once the page is written, before net/http sends
// the headers. The body is dropped here, since a handler embedding this one may not.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead || !IsPagePath(r.URL.Path) {
			return next(c)
		}
		r.Method = http.MethodGet
		defer func() { r.Method = http.MethodHead }()
		c.Response().Writer = bodyless{c.Response().Writer}
		return next(c)
	}
}

// bodyless is a response writer that sends the status and headers and drops the body.
type bodyless struct{ http.ResponseWriter }

func (bodyless) Write(p []byte) (int, error) { return len(p), nil }

func (s *Server) staticFile(c echo.Context) error {
	name := c.Param("name")
	raw, err := fs.ReadFile(webFiles, "web/static/"+name)
	if err != nil || strings.Contains(name, "/") {
		return s.renderError(c, fail(http.StatusNotFound, "there is no such file"))
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	// Its length is known, so HEAD gives it as GET does.
	c.Response().Header().Set("Content-Length", strconv.Itoa(len(raw)))
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(name)), raw)
}

// render writes a page. Personal pages must not be kept by shared caches.
func (s *Server) render(c echo.Context, status int, page string, data any) error {
	t, ok := webPages[page]
	if !ok {
		return internalError(fmt.Errorf("no page template %s", page))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return internalError(fmt.Errorf("render %s: %w", page, err))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	// The page is whole before it is sent, so HEAD gives its length as GET does.
	c.Response().Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage is the page of an error answer.
type errorPage struct {
	webPage
	Status  int
	Message string
}

// renderError shows err as a page; like handleError it logs causes and never shows them.
func (s *Server) renderError(c echo.Context, err error) error {
	ae := asAPIError(err)
	if ae.cause != nil || ae.status >= 500 {
		s.log.Error("page failed", "method", c.Request().Method, "route", c.Path(), "status", ae.status, "error", err)
	}
	if ae.retryAfter != "" {
		c.Response().Header().Set("Retry-After", ae.retryAfter)
	}
	page := errorPage{webPage: webPage{Title: http.StatusText(ae.status)}, Status: ae.status, Message: sentence(ae.message)}
	if !isStaffPath(c.Request().URL.Path) {
		// The requester reads it in their language; the API's own words are kept only
		// where the catalogue has none for the status.
		page.webPage = s.publicPage(c, "error_heading")
		if msg, err := page.loc.Translate("error_" + strconv.Itoa(ae.status)); err == nil {
			page.Message = msg
		}
	}
	return s.render(c, ae.status, "error.html", page)
}

// isStaffPath reports whether a path is one of the staff's pages, which speak English.
func isStaffPath(p string) bool {
	return p == "/admin" || strings.HasPrefix(p, "/admin/") || p == "/audit" || strings.HasPrefix(p, "/audit/")
}

// sentence capitalises a message of the API for a page.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func localStatusText(l *i18n.Localizer, st domain.Status) string {
	if t, err := l.Translate("status_" + string(st)); err == nil {
		return t
	}
	return sentence(strings.ReplaceAll(string(st), "_", " "))
}

func localActionText(l *i18n.Localizer, action string) string {
	if t, err := l.Translate("step_" + action); err == nil {
		return t
	}
	return sentence(strings.ReplaceAll(action, "_", " "))
}

func localTypeText(l *i18n.Localizer, t domain.RequestType) string {
	if s, err := l.Translate("type_" + string(t)); err == nil {
		return s
	}
	return string(t)
}

// daysLeft is the badge of a request's deadline. It is urgent when less than a quarter of
// the time to answer is left, or the due date has passed.
type daysLeft struct {
	Text   string
	Urgent bool
}

func deadlineBadge(received, due, now time.Time, status domain.Status) daysLeft {
	if status.Terminal() {
		return daysLeft{Text: "closed"}
	}
	total, left := due.Sub(received), due.Sub(now)
	days := int(midnight(due).Sub(midnight(now)).Hours() / 24)
	b := daysLeft{Urgent: left < total/4}
	switch {
	case left < 0:
		b.Text = fmt.Sprintf("overdue by %d days", max(-days, 0))
	case days == 1:
		b.Text = "1 day left"
	default:
		b.Text = fmt.Sprintf("%d days left", days)
	}
	return b
}

// actionForm is one of a request page's action forms.
type actionForm struct {
	ID, Name, Label, Hint, CSRF string
	Required                    bool
}

func newActionForm(p requestPageData, name, label, hint string, required bool) actionForm {
	return actionForm{ID: p.Row.ID, Name: name, Label: label, Hint: hint, CSRF: p.CSRF, Required: required}
}
