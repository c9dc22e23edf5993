package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/workflows"
)

// The privacy team's pages. Signing in goes through POST /api/v1/session (from
// static/admin.js, since it takes JSON only); every form then carries the session's CSRF
// token, which requireRole's caller checks like on the API.

func (s *Server) adminPageRoutes() {
	e := s.echo
	e.GET("/admin", s.signInPage, webHeaders)
	staff := e.Group("/admin", webHeaders, s.requireStaffPage)
	staff.GET("/requests", s.queuePage)
	staff.GET("/requests/:id", s.requestPage)
	staff.GET("/requests/:id/permission", s.permissionFilePage)
	staff.POST("/requests/:id/:action", s.requestActionForm)
	staff.POST("/requests/:id/appeal/:verb", s.appealActionForm)
	staff.GET("/appeals", s.appealsPage)
	s.dashboardPageRoutes(staff)
}

// requireStaffPage admits analysts and admins as requireRole does, answering with pages.
func (s *Server) requireStaffPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, err := s.caller(c)
		switch {
		case errors.Is(err, errNoCaller):
			return s.render(c, http.StatusUnauthorized, "signin.html", webPage{Title: "Sign in"})
		case err != nil:
			return s.renderError(c, err)
		case !slices.Contains(staffRoles, tok.Role):
			return s.renderError(c, fail(http.StatusForbidden, "only an analyst or admin may see the privacy team's pages"))
		}
		c.Set(ctxToken, tok)
		return next(c)
	}
}

// staffPage is the layout's part of a dashboard page.
func (s *Server) staffPage(c echo.Context, title string) webPage {
	p := webPage{Title: title, Staff: currentToken(c).Name, Role: currentToken(c).Role}
	if id := sessionID(c); id != "" && bearerToken(c) == "" {
		p.CSRF = s.csrfToken(id)
	}
	return p
}

func (s *Server) signInPage(c echo.Context) error {
	if s.opts.Sessions != nil {
		if id := sessionID(c); id != "" {
			tok, err := s.sessionToken(c.Request().Context(), id)
			switch {
			case err == nil && slices.Contains(staffRoles, tok.Role):
				return c.Redirect(http.StatusSeeOther, "/admin/requests")
			case err == nil && slices.Contains(auditorRoles, tok.Role):
				return c.Redirect(http.StatusSeeOther, "/audit")
			}
		}
	}
	return s.render(c, http.StatusOK, "signin.html", webPage{Title: "Sign in"})
}

var (
	queueStatuses = []domain.Status{
		domain.StatusReceived, domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification,
		domain.StatusPendingReview, domain.StatusInProgress, domain.StatusAwaitingManualTasks, domain.StatusNeedsAttention,
		domain.StatusCompleted, domain.StatusDenied, domain.StatusCancelled, domain.StatusExpired,
	}
	queueTypes = []domain.RequestType{domain.TypeReview, domain.TypeCorrect, domain.TypeUpdate, domain.TypeSuppress, domain.TypeRestrict, domain.TypeChildErasure}
	queueJuris = []domain.Jurisdiction{
		domain.JurisdictionGDPR, domain.JurisdictionCCPA, domain.JurisdictionVCDPA, domain.JurisdictionCPA,
		domain.JurisdictionCTDPA, domain.JurisdictionDefault,
	}
)

// requestPageData is everything about one request, read from the database as the staff
// view answers it.
type requestPageData struct {
	webPage
	requests.StaffView
	Details     domain.Details
	Badge       daysLeft
	TemporalURL string
	Error       string
	Done        string
	// Personal is the requester's details, whose reading the audit log records.
	Personal requests.Personal
	// Offered are the actions the workflow takes from this staff member now.
	Offered []string
	// Timeline is the request's steps; Reads the latest views of the requester's details.
	Timeline []timelineRow
	Reads    []requestdb.AuditEvent
	TaskRows []taskRow
	// Appeal is the request's appeal, if any; AppealDecidable and AppealExtendable say
	// whether this staff member may decide or extend it now.
	Appeal           *requestdb.Appeal
	AppealDecidable  bool
	AppealExtendable bool
}

// timelineRow is one line of the request page's timeline: a step, or Count steps in a row
// alike (one store change planned per store, say), shown once. The audit page lists each.
type timelineRow struct {
	requestdb.AuditEvent
	Count int
}

// foldStep adds e to the timeline, as one more of the last row when both are the same step
// by the same actor and neither changed the status.
func foldStep(rows []timelineRow, e requestdb.AuditEvent) []timelineRow {
	if n := len(rows); n > 0 {
		last := &rows[n-1]
		if last.Action == e.Action && last.Actor == e.Actor && last.Role == e.Role && last.FromStatus == last.ToStatus && last.ToStatus == e.ToStatus && e.FromStatus == e.ToStatus {
			last.Count++
			return rows
		}
	}
	return append(rows, timelineRow{AuditEvent: e, Count: 1})
}

// readsShown is how many of the latest views of a requester's details a request page lists;
// the audit log keeps them all.
const readsShown = 10

// Offers reports whether the page offers the action of requests.StaffActions.
func (p requestPageData) Offers(action string) bool { return slices.Contains(p.Offered, action) }

// actionDone is what the page says after each action succeeded.
var actionDone = map[string]string{
	"accept-permission": "Permission accepted.", "refuse-permission": "Permission refused: the request is denied.",
	"approve": "Approved.", "deny": "Denied.", "verify-identity": "Identity verified.", "extend": "Deadline extended.",
	"cancel": "Cancelled.", "retry": "Store retried.", "notes": "Note added.", "assign": "Assigned.",
	"opened":        "Request opened. A second member of the privacy team must approve it.",
	"appeal-decide": "Appeal decided; the person is told.", "appeal-extend": "Appeal deadline extended; the person is told.",
}

func (s *Server) requestData(c echo.Context) (requestPageData, error) {
	v, err := s.svc.Staff(c.Request().Context(), c.Param("id"), false)
	if err != nil {
		return requestPageData{}, err
	}
	row, actor, now := v.Row, staffActor(c), s.opts.Now()
	personal, err := s.svc.Personal(c.Request().Context(), row, actor, requests.ReadOnRequestPage)
	if err != nil {
		return requestPageData{}, err
	}
	p := requestPageData{
		webPage: s.staffPage(c, "Request "+row.ID), StaffView: v, Personal: personal,
		Badge: deadlineBadge(row.ReceivedAt, row.DueAt, now, row.Status),
		Done:  actionDone[c.QueryParam("done")], Offered: v.Offered(actor, now),
	}
	for _, e := range v.Audit {
		if e.Action == requestdb.ActionAccessed {
			p.Reads = append(p.Reads, e)
		} else {
			p.Timeline = foldStep(p.Timeline, e)
		}
	}
	slices.Reverse(p.Reads)
	p.Reads = p.Reads[:min(len(p.Reads), readsShown)]
	for _, t := range v.Tasks {
		p.TaskRows = append(p.TaskRows, s.taskRow(t))
	}
	if err := s.appealData(c, &p); err != nil {
		return requestPageData{}, err
	}
	if row.Details != "" {
		if err := json.Unmarshal([]byte(row.Details), &p.Details); err != nil {
			s.log.Warn("request details unreadable", "request_id", row.ID, "error", err)
		}
	}
	if s.opts.TemporalUIURL != "" {
		ns := s.opts.TemporalNamespace
		if ns == "" {
			ns = "default"
		}
		p.TemporalURL = strings.TrimRight(s.opts.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(ns) +
			"/workflows/" + url.PathEscape(workflows.RequestID(row.ID))
	}
	return p, nil
}

func (s *Server) requestPage(c echo.Context) error {
	p, err := s.requestData(c)
	if err != nil {
		return s.renderError(c, err)
	}
	return s.render(c, http.StatusOK, "request.html", p)
}

// requestActionForm applies one action through the same workflow update as POST
// /api/v1/admin/requests/{id}/{action}; a refusal is shown on the request's page.
func (s *Server) requestActionForm(c echo.Context) error {
	action := c.Param("action")
	if _, ok := requests.StaffActions[action]; !ok {
		return s.renderError(c, fail(http.StatusNotFound, "no such action"))
	}
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, c.Param("id"))
	if err != nil {
		return s.renderError(c, err)
	}
	err = s.svc.Act(ctx, row.ID, requests.StaffAction{
		Name: action, Actor: staffActor(c), Reason: strings.TrimSpace(c.FormValue("reason")), Text: strings.TrimSpace(c.FormValue("text")),
		Assignee: strings.TrimSpace(c.FormValue("assignee")), Store: c.FormValue("store"),
	})
	if err != nil {
		return s.requestPageRefusal(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/requests/"+row.ID+"?done="+url.QueryEscape(action))
}

// requestPageRefusal shows the request's page again with why an action was refused (a
// field's message when the refusal names one); a failure of the service gets the error page.
func (s *Server) requestPageRefusal(c echo.Context, err error) error {
	ae := asAPIError(err)
	if ae.status >= 500 {
		return s.renderError(c, err)
	}
	p, perr := s.requestData(c)
	if perr != nil {
		return s.renderError(c, perr)
	}
	p.Error = sentence(ae.message)
	if names := slices.Sorted(maps.Keys(ae.fields)); len(names) > 0 {
		p.Error = sentence(ae.fields[names[0]])
	}
	return s.render(c, ae.status, "request.html", p)
}
