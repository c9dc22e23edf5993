package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The auditor's page: one request's history as the audit log and the workflow engine
// record it, merged in time order, and its signed evidence bundle. Auditors sign in on
// /admin like the privacy team, and only read.

func (s *Server) auditPageRoutes() {
	s.echo.GET("/audit", s.auditPage, webHeaders, s.requireRolePage(auditorRoles, "only an auditor or admin may read the audit record"))
}

// requireRolePage admits a signed-in caller with one of the roles, as requireRole does,
// answering with pages.
func (s *Server) requireRolePage(roles []auth.Role, refusal string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, err := s.caller(c)
			switch {
			case errors.Is(err, errNoCaller):
				return s.render(c, http.StatusUnauthorized, "signin.html", webPage{Title: "Sign in"})
			case err != nil:
				return s.renderError(c, err)
			case !slices.Contains(roles, tok.Role):
				return s.renderError(c, fail(http.StatusForbidden, refusal))
			}
			c.Set(ctxToken, tok)
			return next(c)
		}
	}
}

// historyLine is one line of the readable history.
type historyLine struct {
	At     time.Time
	Source string
	Who    string
	What   string
	Detail string
}

type auditPageData struct {
	webPage
	Query       string
	Row         *requestdb.Request
	Lines       []historyLine
	Error       string
	EvidenceURL string
}

func (s *Server) auditPage(c echo.Context) error {
	page := auditPageData{webPage: s.staffPage(c, "Audit"), Query: strings.TrimSpace(c.QueryParam("request"))}
	if page.Query == "" {
		return s.render(c, http.StatusOK, "audit.html", page)
	}
	if _, err := uuid.Parse(page.Query); err != nil {
		page.Error = "Enter a request ID, such as 0b6f3c3e-8d2a-4c5e-9f3a-2b1d4e5f6a7b."
		return s.render(c, http.StatusUnprocessableEntity, "audit.html", page)
	}
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, page.Query)
	if err != nil {
		ae := asAPIError(err)
		if ae.status >= 500 {
			return s.renderError(c, err)
		}
		page.Error = sentence(ae.message)
		return s.render(c, ae.status, "audit.html", page)
	}
	page.Row, page.Title = row, "Audit of request "+row.ID
	page.EvidenceURL = "/api/v1/audit/requests/" + row.ID + "/evidence"
	events, err := s.opts.Requests.AuditEvents(ctx, row.ID)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	for _, e := range events {
		detail := strings.ReplaceAll(e.FromStatus, "_", " ")
		if e.ToStatus != "" {
			detail += " → " + strings.ReplaceAll(e.ToStatus, "_", " ")
		}
		who := e.Actor
		switch {
		case who == "":
			who = e.Role
		case e.Role != "":
			who += " (" + e.Role + ")"
		}
		page.Lines = append(page.Lines, historyLine{At: e.At, Source: "audit log", Who: who, What: actionText(e.Action), Detail: detail})
	}
	history, err := s.readHistory(ctx, row.ID)
	if err != nil {
		s.log.Warn("workflow history unavailable", "request_id", row.ID, "error", err)
		page.Error = "The workflow engine did not answer, so only the audit log is shown."
	} else {
		page.Lines = append(page.Lines, historyLines(history)...)
	}
	slices.SortStableFunc(page.Lines, func(a, b historyLine) int { return a.At.Compare(b.At) })
	return s.render(c, http.StatusOK, "audit.html", page)
}

// historyLines are the workflow events a person reads for: what started, what was asked
// of the workflow, which steps ran and which failed. The engine's own bookkeeping (workflow
// tasks, search attributes, steps that merely ended well) and RecordStep, whose every run
// is a line of the audit log already, are left out.
func historyLines(h *historypb.History) []historyLine {
	var lines []historyLine
	for _, e := range h.GetEvents() {
		t := e.GetEventType()
		switch t {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			continue
		}
		if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "RecordStep" {
			continue
		}
		line := historyLine{At: e.GetEventTime().AsTime(), Source: "workflow", Who: "workflow", What: eventText(t)}
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			line.Detail = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
		case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		case e.GetActivityTaskFailedEventAttributes() != nil:
			line.Detail = e.GetActivityTaskFailedEventAttributes().GetFailure().GetMessage()
		}
		lines = append(lines, line)
	}
	return lines
}

// eventText turns the event type WorkflowExecutionStarted (or, in older versions of the
// API, EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) into "Workflow execution started".
func eventText(t enumspb.EventType) string {
	name := strings.TrimPrefix(t.String(), "EVENT_TYPE_")
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_':
			r = ' '
		case unicode.IsUpper(r) && i > 0 && !strings.Contains(name, "_"):
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	words := b.String()
	if words == "" {
		return "Event"
	}
	return strings.ToUpper(words[:1]) + words[1:]
}
