package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// The privacy team's pages beyond the queue and a request: manual tasks, metrics, bulk
// decisions and requests staff open themselves. Each goes through the same code as its API
// route, so a page can do nothing the API refuses.

func (s *Server) dashboardPageRoutes(staff *echo.Group) {
	staff.GET("/tasks", s.tasksPage)
	staff.GET("/tasks/:id", s.taskPage)
	staff.POST("/tasks/complete", s.completeTaskForm)
	staff.GET("/metrics", s.metricsPage)
	staff.POST("/requests/bulk", s.bulkActionForm)
	staff.POST("/requests/filter", s.filterForm)
	staff.GET("/staff-request", s.staffRequestPage)
	staff.POST("/staff-request", s.submitStaffRequestForm)
	staff.GET("/datamap", s.dataMapPage)
	staff.POST("/datamap", s.dataMapScanForm)
}

// taskRow is a task as the pages list it: what kind of request it serves, its page, and
// once done what the staff member reported.
type taskRow struct {
	requestdb.Task
	Type   domain.RequestType
	Link   string
	Result *connector.Result
}

func (s *Server) taskRow(t requestdb.Task) taskRow {
	row := taskRow{Task: t, Type: domain.RequestType(t.Operation), Link: "/admin/tasks/" + url.PathEscape(t.ID)}
	if t.Result != "" {
		var res connector.Result
		if err := json.Unmarshal([]byte(t.Result), &res); err != nil {
			s.log.Warn("task result unreadable", "request_id", t.RequestID, "store", t.Store, "error", err)
		} else {
			row.Result = &res
		}
	}
	return row
}

// tasksPageData lists the open tasks without the requesters: each task's own page shows
// who it is for, and records that view.
type tasksPageData struct {
	webPage
	Tasks []taskRow
	Done  bool
}

func (s *Server) tasksPage(c echo.Context) error {
	tasks, err := s.opts.Requests.Tasks(c.Request().Context(), requestdb.TaskOpen, maxTasks)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	p := tasksPageData{webPage: s.staffPage(c, "Manual tasks"), Done: c.QueryParam("done") == "1"}
	for _, t := range tasks {
		p.Tasks = append(p.Tasks, s.taskRow(t))
	}
	return s.render(c, http.StatusOK, "tasks.html", p)
}

// keptRows is how many records kept the task form offers to report.
const keptRows = 3

// taskPageData is one task with the request it serves and its requester, and the form
// that completes it.
type taskPageData struct {
	webPage
	Task     taskRow
	Request  *requestdb.Request
	Details  domain.Details
	Personal requests.Personal
	KeptRows []int
	// Values are the form's input after a refusal; Errors say why, by field ID, and
	// "form" for the form as a whole.
	Values url.Values
	Errors map[string]string
}

func (s *Server) taskData(c echo.Context, id string) (taskPageData, error) {
	ctx := c.Request().Context()
	task, err := s.svc.FindTask(ctx, id)
	if err != nil {
		return taskPageData{}, err
	}
	row, err := s.svc.Find(ctx, task.RequestID)
	if err != nil {
		return taskPageData{}, err
	}
	personal, err := s.svc.Personal(ctx, row, staffActor(c), requests.ReadOnTaskPage)
	if err != nil {
		return taskPageData{}, err
	}
	p := taskPageData{
		webPage: s.staffPage(c, "Task: "+task.Store), Task: s.taskRow(*task), Request: row, Personal: personal,
		KeptRows: make([]int, keptRows), Values: url.Values{}, Errors: map[string]string{},
	}
	for i := range p.KeptRows {
		p.KeptRows[i] = i
	}
	if row.Details != "" {
		if err := json.Unmarshal([]byte(row.Details), &p.Details); err != nil {
			s.log.Warn("request details unreadable", "request_id", row.ID, "error", err)
		}
	}
	return p, nil
}

func (s *Server) taskPage(c echo.Context) error {
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return s.renderError(c, errNoTask)
	}
	p, err := s.taskData(c, id)
	if err != nil {
		return s.renderError(c, err)
	}
	return s.render(c, http.StatusOK, "task.html", p)
}

// lines splits a text area into its non-blank lines.
func lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// keptFromForm reads the form's rows of records kept, skipping blank rows. rowOf maps each
// record to its row, so a refusal of result.retained[i] is shown beside its row.
func keptFromForm(form url.Values, errs map[string]string) (kept []TaskRetention, rowOf []int) {
	whats, reasons, untils := form["kept_what"], form["kept_reason"], form["kept_until"]
	at := func(vs []string, i int) string {
		if i < len(vs) {
			return strings.TrimSpace(vs[i])
		}
		return ""
	}
	for i := range min(len(whats), keptRows) {
		what, reason, until := at(whats, i), at(reasons, i), at(untils, i)
		if what == "" && reason == "" && until == "" {
			continue
		}
		k := TaskRetention{What: what, Reason: reason}
		if until != "" {
			t, err := time.Parse(time.DateOnly, until)
			if err != nil {
				errs[fmt.Sprintf("kept-until-%d", i)] = "Give the date as YYYY-MM-DD, or leave it blank for a legal hold."
			}
			k.Until = &t
		}
		kept, rowOf = append(kept, k), append(rowOf, i)
	}
	return kept, rowOf
}

// keptField is the form field of a refusal of result.retained[i].what or .reason.
var keptField = regexp.MustCompile(`^result\.retained\[(\d+)\]\.(what|reason)$`)

// completeTaskForm completes a task as POST /api/v1/admin/tasks/{id}/complete does, with
// what was found and changed one per line, and each record kept with why and until when.
func (s *Server) completeTaskForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return s.renderError(c, readError(err))
	}
	form := c.Request().PostForm
	id := form.Get("task")
	errs := map[string]string{}
	kept, rowOf := keptFromForm(form, errs)
	body := TaskCompletion{
		Result: &TaskResult{
			Found: lines(form.Get("found")), Changed: lines(form.Get("changed")), Retained: kept,
			NotFound: form.Get("not_found") == "true",
		},
		Note: strings.TrimSpace(form.Get("note")),
	}
	result, err := body.validate()
	if err == nil && len(errs) > 0 {
		err = fail(http.StatusUnprocessableEntity, "some records kept need correcting")
	}
	if err == nil {
		_, err = s.svc.CompleteTask(c.Request().Context(), id, result, body.Note, staffActor(c))
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/admin/tasks?done=1")
	}
	ae := asAPIError(err)
	if ae.status >= 500 {
		return s.renderError(c, err)
	}
	p, perr := s.taskData(c, id)
	if perr != nil {
		return s.renderError(c, perr)
	}
	p.Values, p.Errors = form, errs
	for field, msg := range ae.fields {
		if m := keptField.FindStringSubmatch(field); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i < len(rowOf) {
				p.Errors[fmt.Sprintf("kept-%s-%d", m[2], rowOf[i])] = sentence(msg)
				continue
			}
		}
		p.Errors["form"] += sentence(field+" "+msg) + " "
	}
	if len(ae.fields) == 0 || p.Errors["form"] == "" {
		p.Errors["form"] = sentence(ae.message) + " " + p.Errors["form"]
	}
	p.Errors["form"] = strings.TrimSpace(p.Errors["form"])
	return s.render(c, ae.status, "task.html", p)
}

type metricsPageData struct {
	webPage
	From, To string
	Report   MetricsReport
	Types    []domain.RequestType
	// Overdue counts open requests past their due date; OverdueMore says there are more
	// than it counted.
	Overdue     int
	OverdueMore bool
	Errors      map[string]string
	Chart       metricsChart
}

// overdueCountLimit bounds the overdue count; past it the page says "or more".
const overdueCountLimit = maxPageSize

func (s *Server) metricsPage(c echo.Context) error {
	p := metricsPageData{
		webPage: s.staffPage(c, "Metrics"), From: c.QueryParam("from"), To: c.QueryParam("to"),
		Types: queueTypes, Errors: map[string]string{},
	}
	from, to, err := s.metricsPeriod(c)
	if err != nil {
		ae := asAPIError(err)
		for name, msg := range ae.fields {
			p.Errors[name] = sentence(msg)
		}
		return s.render(c, ae.status, "metrics.html", p)
	}
	ctx := c.Request().Context()
	m, err := s.opts.Requests.RequestMetrics(ctx, from, to)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	p.Report = metricsReport(from, to, m)
	p.Chart = newMetricsChart(p.Report.ByMonth)
	overdue, more, err := s.opts.Requests.ListRequests(ctx, requestdb.RequestFilter{OverdueAt: s.opts.Now()}, requestdb.DueSoonestFirst, nil, overdueCountLimit)
	if err != nil {
		return s.renderError(c, unavailable(err))
	}
	p.Overdue, p.OverdueMore = len(overdue), more != nil
	return s.render(c, http.StatusOK, "metrics.html", p)
}

// bulkActions are the decisions the queue may apply to several requests at once.
var bulkActions = []string{"approve", "deny"}

// bulkOutcome is what became of one request of a bulk decision.
type bulkOutcome struct {
	ID    string
	Error string
}

type bulkPageData struct {
	webPage
	Action   string
	Outcomes []bulkOutcome
	Failed   int
	// BackURL is the queue view the decision was made from.
	BackURL string
}

// bulkActionForm applies approve or deny to each chosen request through the same workflow
// update as a request's own form, and says what became of each. With nothing ticked it
// goes back to the queue view it came from, which says so.
func (s *Server) bulkActionForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return s.renderError(c, readError(err))
	}
	// The view to come back to; a malformed one falls back to the whole queue.
	back, err := url.ParseQuery(c.Request().PostForm.Get("back"))
	if err != nil {
		back = url.Values{}
	}
	view := queueView(back)
	ids := c.Request().PostForm["id"]
	if len(ids) == 0 {
		view.Set("notice", "none")
		return c.Redirect(http.StatusSeeOther, queueURL(view))
	}
	action := c.FormValue("action")
	if !slices.Contains(bulkActions, action) {
		return s.renderError(c, fail(http.StatusUnprocessableEntity, "choose approve or deny"))
	}
	if len(ids) > maxPageSize {
		return s.renderError(c, fail(http.StatusUnprocessableEntity, fmt.Sprintf("choose from 1 to %d requests", maxPageSize)))
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	p := bulkPageData{webPage: s.staffPage(c, "Bulk "+action), Action: action, BackURL: queueURL(view)}
	ctx := c.Request().Context()
	for _, id := range ids {
		out := bulkOutcome{ID: id}
		if err := s.svc.Act(ctx, id, requests.StaffAction{Name: action, Actor: staffActor(c), Reason: reason}); err != nil {
			ae := asAPIError(err)
			if ae.status >= 500 {
				s.log.Error("bulk action failed", "request_id", id, "action", action, "error", err)
			}
			out.Error = sentence(ae.message)
			p.Failed++
		}
		p.Outcomes = append(p.Outcomes, out)
	}
	status := http.StatusOK
	if p.Failed > 0 {
		status = http.StatusMultiStatus
	}
	return s.render(c, status, "bulk.html", p)
}

type staffRequestPageData struct {
	webPage
	Values url.Values
	Errors map[string]string
	Juris  []domain.Jurisdiction
}

func (s *Server) staffRequestPage(c echo.Context) error {
	return s.render(c, http.StatusOK, "staff_request.html", staffRequestPageData{
		webPage: s.staffPage(c, "Open a staff request"), Values: url.Values{}, Errors: map[string]string{}, Juris: queueJuris,
	})
}

// submitStaffRequestForm opens a child's erasure as POST /api/v1/admin/requests does; a
// second staff member approves it from its page, since the workflow refuses the opener.
func (s *Server) submitStaffRequestForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return s.renderError(c, readError(err))
	}
	values := c.Request().PostForm
	p := staffRequestPageData{webPage: s.staffPage(c, "Open a staff request"), Values: values, Errors: map[string]string{}, Juris: queueJuris}
	form := IntakeForm{
		Type: string(domain.TypeChildErasure), Email: values.Get("email"), Jurisdiction: values.Get("jurisdiction"),
		Details: domain.Details{Reason: values.Get("reason")},
	}
	in, err := s.svc.ValidateIntake(form, nil, true)
	var answer IntakeAnswer
	if err == nil {
		answer, _, err = s.svc.Open(c.Request().Context(), in, staffOpening(c))
	}
	if err != nil {
		ae := asAPIError(err)
		if ae.status >= 500 {
			return s.renderError(c, err)
		}
		for path, msg := range ae.fields {
			p.Errors[strings.TrimPrefix(path, "details.")] = sentence(msg)
		}
		if len(ae.fields) == 0 {
			p.Errors["form"] = sentence(ae.message)
		}
		return s.render(c, ae.status, "staff_request.html", p)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/requests/"+answer.ID+"?done=opened")
}

// keptInput is one field of a row of the task form's records kept.
type keptInput struct {
	ID, Name, Label, Type, Value, Error string
}

// KeptField is the field name ("what", "reason", "until") of row i, with what was typed
// and why it was refused.
func (p taskPageData) KeptField(name string, i int, label, typ string) keptInput {
	id := fmt.Sprintf("kept-%s-%d", name, i)
	in := keptInput{ID: id, Name: name, Label: label, Type: typ, Error: p.Errors[id]}
	if vs := p.Values["kept_"+name]; i < len(vs) {
		in.Value = vs[i]
	}
	return in
}
