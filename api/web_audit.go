package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

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

// auditSearch is the audit page's form, as the URL carries it.
type auditSearch struct {
	Request, From, To, Actor, Action string
}

// filtered says whether the form asks for a search of the audit log rather than one
// request's history.
func (q auditSearch) filtered() bool {
	return q.From != "" || q.To != "" || q.Actor != "" || q.Action != ""
}

// auditFound is one event a search of the audit log found.
type auditFound struct {
	historyLine
	RequestID string
}

type auditPageData struct {
	webPage
	Search      auditSearch
	Actions     []string
	Row         *requestdb.Request
	Lines       []historyLine
	Found       []auditFound
	Searched    bool
	NextURL     string
	Error       string
	EvidenceURL string
}

// auditPageSize is how many events one page of a search shows.
const auditPageSize = 100

func (s *Server) auditPage(c echo.Context) error {
	q := c.QueryParams()
	page := auditPageData{webPage: s.staffPage(c, "Audit"), Search: auditSearch{
		Request: strings.TrimSpace(q.Get("request")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
	}}
	ctx := c.Request().Context()
	actions, err := s.opts.Requests.AuditActions(ctx)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	page.Actions = actions
	if page.Search.filtered() {
		return s.auditSearchPage(c, page)
	}
	if page.Search.Request == "" {
		return s.render(c, http.StatusOK, "audit.html", page)
	}
	if _, err := uuid.Parse(page.Search.Request); err != nil {
		page.Error = "Enter a request ID, such as 0b6f3c3e-8d2a-4c5e-9f3a-2b1d4e5f6a7b."
		return s.render(c, http.StatusUnprocessableEntity, "audit.html", page)
	}
	row, err := s.findRequest(ctx, page.Search.Request)
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
		page.Lines = append(page.Lines, auditLine(e))
	}
	stores, err := s.opts.Requests.StoreProgressOf(ctx, row.ID)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	page.Lines = append(page.Lines, storeLines(stores)...)
	history, err := s.readHistory(ctx, row.ID)
	if err != nil {
		s.log.Warn("workflow history unavailable", "request_id", row.ID, "error", err)
		page.Error = "The workflow engine did not answer, so only the audit log is shown."
	} else {
		page.Lines = append(page.Lines, historyLines(history, s.opts.PayloadCodec)...)
	}
	slices.SortStableFunc(page.Lines, func(a, b historyLine) int { return a.At.Compare(b.At) })
	return s.render(c, http.StatusOK, "audit.html", page)
}

// auditSearchPage lists the audit log's events that match the form, oldest first, a page
// at a time.
func (s *Server) auditSearchPage(c echo.Context, page auditPageData) error {
	page.Searched = true
	f, problem := auditFilter(page.Search)
	if problem != "" {
		page.Error = problem
		return s.render(c, http.StatusUnprocessableEntity, "audit.html", page)
	}
	var after *requestdb.Cursor
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := decodeCursor(auditCursor, v)
		if err != nil {
			page.Error = "That page of results is not valid; search again."
			return s.render(c, http.StatusUnprocessableEntity, "audit.html", page)
		}
		after = &cur
	}
	events, next, err := s.opts.Requests.ListAuditEvents(c.Request().Context(), f, after, auditPageSize)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	for _, e := range events {
		page.Found = append(page.Found, auditFound{historyLine: auditLine(e), RequestID: e.RequestID})
	}
	if next != nil {
		v := c.QueryParams()
		v.Set("cursor", encodeCursor(auditCursor, *next))
		page.NextURL = "/audit?" + v.Encode()
	}
	return s.render(c, http.StatusOK, "audit.html", page)
}

// auditFilter reads the search form: dates are whole days in UTC, both ends included.
func auditFilter(q auditSearch) (requestdb.AuditFilter, string) {
	f := requestdb.AuditFilter{RequestID: q.Request, Actor: q.Actor, Action: q.Action}
	if q.Request != "" {
		if _, err := uuid.Parse(q.Request); err != nil {
			return f, "Enter a request ID, such as 0b6f3c3e-8d2a-4c5e-9f3a-2b1d4e5f6a7b, or leave it empty."
		}
	}
	for _, d := range []struct {
		value string
		into  *time.Time
		name  string
	}{{q.From, &f.From, "From"}, {q.To, &f.To, "To"}} {
		if d.value == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.value)
		if err != nil {
			return f, d.name + " must be a date, such as 2026-12-01."
		}
		*d.into = t
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, "From must not be after To."
	}
	return f, ""
}

// auditLine is an audit event as a line of the history: the status it moved, and what the
// step recorded beside it, such as the stores it concerns.
func auditLine(e requestdb.AuditEvent) historyLine {
	detail := strings.ReplaceAll(e.FromStatus, "_", " ")
	if e.ToStatus != "" && e.ToStatus != e.FromStatus {
		detail += " → " + strings.ReplaceAll(e.ToStatus, "_", " ")
	}
	var recorded []string
	if json.Unmarshal([]byte(e.Details), &recorded) == nil && len(recorded) > 0 {
		if detail != "" {
			detail += " · "
		}
		detail += strings.Join(recorded, ", ")
	}
	who := e.Actor
	switch {
	case who == "":
		who = e.Role
	case e.Role != "" && e.Role != who:
		who += " (" + e.Role + ")"
	}
	return historyLine{At: e.At, Source: "audit log", Who: who, What: staffAction(e.Action), Detail: detail}
}

// storeLines are the stores' recorded steps: each store's state and when it reached it.
// A request's stores run in one activity, so the workflow history cannot tell them apart.
func storeLines(stores []requestdb.StoreProgress) []historyLine {
	lines := make([]historyLine, 0, len(stores))
	for _, st := range stores {
		line := historyLine{At: st.RecordedAt, Source: "store results", Who: "store " + st.Store, What: "Store " + string(st.State), Detail: st.Store}
		if st.Error != "" {
			line.Detail += ": " + st.Error
		}
		lines = append(lines, line)
	}
	return lines
}

// historyLines are the workflow events a person reads for: what started, what was asked
// of the workflow, which steps ran and which failed. The engine's own bookkeeping (workflow
// tasks, search attributes, steps that merely ended well) and RecordStep, whose every run
// is a line of the audit log already, are left out, and so are the local activities that
// write those steps. A local activity is named; a step that runs stores names them, and so
// does its failure.
func historyLines(h *historypb.History, codec converter.PayloadCodec) []historyLine {
	var lines []historyLine
	stores := map[int64]string{} // stores by the ID of the event that scheduled their step
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
		if m := e.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == localActivityMarker {
			name := localActivityName(m, codec)
			if recordsSteps(name) && m.GetFailure() == nil {
				continue
			}
			line.What, line.Detail = "Local activity", name
			if m.GetFailure() != nil {
				line.Detail += ": " + m.GetFailure().GetMessage()
			}
		}
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			a := e.GetActivityTaskScheduledEventAttributes()
			line.Detail = a.GetActivityType().GetName()
			if names := storesOf(a.GetInput(), codec); names != "" {
				stores[e.GetEventId()] = names
				line.Detail += " · " + names
			}
		case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
		case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			line.Detail = e.GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		case e.GetActivityTaskFailedEventAttributes() != nil:
			a := e.GetActivityTaskFailedEventAttributes()
			line.Detail = a.GetFailure().GetMessage()
			if names := stores[a.GetScheduledEventId()]; names != "" {
				line.Detail = names + ": " + line.Detail
			}
		case e.GetActivityTaskTimedOutEventAttributes() != nil:
			line.Detail = stores[e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]
		}
		lines = append(lines, line)
	}
	return lines
}

// localActivityMarker names the marker the SDK records for each local activity, which
// dsr uses for a request's bookkeeping.
const localActivityMarker = "LocalActivity"

// localActivityName reads which local activity a marker records, from the SDK's marker
// data; empty when it cannot be read.
func localActivityName(m *historypb.MarkerRecordedEventAttributes, codec converter.PayloadCodec) string {
	var data struct{ ActivityType string }
	if !decodeFirst(m.GetDetails()["data"], codec, &data) {
		return ""
	}
	return data.ActivityType
}

// recordsSteps says whether a local activity writes audit steps, each of which is a line
// of the audit log already.
func recordsSteps(activity string) bool { return activity == "RecordStep" || activity == "RecordSteps" }

// storesOf names the stores a store step's input runs (RunStore's Store, RunStores'
// Stores), or nothing for any other step or an input it cannot read. Only those fields are
// shown: the rest of an input may hold personal data.
func storesOf(in *commonpb.Payloads, codec converter.PayloadCodec) string {
	var step struct {
		Store  string
		Stores []string
	}
	if !decodeFirst(in, codec, &step) {
		return ""
	}
	if step.Store != "" {
		return step.Store
	}
	return strings.Join(step.Stores, ", ")
}

// decodeFirst decodes the first of the payloads, undoing the codec's encryption, into v.
func decodeFirst(in *commonpb.Payloads, codec converter.PayloadCodec, v any) bool {
	payloads := in.GetPayloads()
	if len(payloads) == 0 {
		return false
	}
	if codec != nil {
		decoded, err := codec.Decode(payloads[:1])
		if err != nil || len(decoded) == 0 {
			return false
		}
		payloads = decoded
	}
	return converter.GetDefaultDataConverter().FromPayload(payloads[0], v) == nil
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
