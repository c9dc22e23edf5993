package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// The privacy team's pages beyond the queue and a request: manual tasks, metrics, bulk
// decisions and requests staff open themselves. Each goes through the same code as its API
// route, so a page can do nothing the API refuses.

func (s *Server) dashboardPageRoutes(staff *echo.Group) {
	staff.GET("/tasks", s.tasksPage)
	staff.POST("/tasks/complete", s.completeTaskForm)
	staff.GET("/metrics", s.metricsPage)
	staff.POST("/requests/bulk", s.bulkActionForm)
	staff.POST("/requests/filter", s.filterForm)
	staff.GET("/staff-request", s.staffRequestPage)
	staff.POST("/staff-request", s.submitStaffRequestForm)
}

type tasksPageData struct {
	webPage
	Tasks []TaskView
	// Task is the task a failed completion was for, Error why it failed.
	Task  string
	Error string
	Done  bool
}

func (s *Server) tasksData(c echo.Context) (tasksPageData, error) {
	tasks, err := s.opts.Requests.Tasks(c.Request().Context(), requestdb.TaskOpen, maxTasks)
	if err != nil {
		return tasksPageData{}, unavailable(err)
	}
	p := tasksPageData{webPage: s.staffPage(c, "Manual tasks"), Done: c.QueryParam("done") == "1"}
	for _, t := range tasks {
		p.Tasks = append(p.Tasks, taskView(t))
	}
	return p, nil
}

func (s *Server) tasksPage(c echo.Context) error {
	p, err := s.tasksData(c)
	if err != nil {
		return s.renderError(c, err)
	}
	return s.render(c, http.StatusOK, "tasks.html", p)
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

// completeTaskForm completes a task as POST /api/v1/admin/tasks/{id}/complete does, with
// what was found and changed one per line.
func (s *Server) completeTaskForm(c echo.Context) error {
	id := c.FormValue("task")
	body := TaskCompletion{
		Result: &TaskResult{
			Found: lines(c.FormValue("found")), Changed: lines(c.FormValue("changed")),
			NotFound: c.FormValue("not_found") == "true",
		},
		Note: strings.TrimSpace(c.FormValue("note")),
	}
	result, err := body.validate()
	if err == nil {
		_, err = s.svc.CompleteTask(c.Request().Context(), id, result, body.Note, staffActor(c))
	}
	if err != nil {
		ae := asAPIError(err)
		if ae.status >= 500 {
			return s.renderError(c, err)
		}
		p, perr := s.tasksData(c)
		if perr != nil {
			return s.renderError(c, perr)
		}
		p.Task, p.Error = id, sentence(ae.message)
		for field, msg := range ae.fields {
			p.Error += " " + sentence(field+" "+msg)
		}
		return s.render(c, ae.status, "tasks.html", p)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/tasks?done=1")
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
	in, err := requests.ValidateIntake(form, nil, true)
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
