package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// maxTasks is how many tasks the list shows, the soonest due first.
const maxTasks = 500

// TaskList is the privacy team's work in systems dsr cannot reach itself.
type TaskList struct {
	Tasks []TaskView `json:"tasks"`
}

// TaskView is a task as staff see it; Result is what the staff member who completed it
// reported, null while it is open.
type TaskView struct {
	requestdb.Task
	Result json.RawMessage `json:"result"`
}

func taskView(t requestdb.Task) TaskView {
	return TaskView{Task: t, Result: requestdb.RawJSON(t.Result)}
}

func (s *Server) listTasks(c echo.Context) error {
	params := c.QueryParams()
	for name := range params {
		if name != "status" {
			return errUnknownParameter
		}
	}
	status := params.Get("status")
	switch status {
	case "":
		status = requestdb.TaskOpen
	case requestdb.TaskOpen, requestdb.TaskDone:
	default:
		return badInput("status", "must be open or done")
	}
	tasks, err := s.opts.Requests.Tasks(c.Request().Context(), status, maxTasks)
	if err != nil {
		return unavailable(err)
	}
	out := TaskList{Tasks: make([]TaskView, len(tasks))}
	for i, t := range tasks {
		out.Tasks[i] = taskView(t)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// TaskCompletion is what a staff member found and did in the system, and a note for the
// team that stays with the task.
type TaskCompletion struct {
	Result *TaskResult `json:"result"`
	Note   string      `json:"note"`
}

// TaskResult is connector.Result without what only a connector sets: the store, which
// comes from the task, and exported data.
type TaskResult struct {
	Found    []string        `json:"found"`
	Changed  []string        `json:"changed"`
	Retained []TaskRetention `json:"retained"`
	Notes    []string        `json:"notes"`
	NotFound bool            `json:"not_found"`
	// DisclosedTo names the recipients the person's data went to from this system, for
	// those the data map gives "disclosed_when: reported"; only they are told.
	DisclosedTo []TaskDisclosure `json:"disclosed_to"`
}

// TaskDisclosure is a recipient that received the person's data, and since when if known.
type TaskDisclosure struct {
	Recipient string     `json:"recipient"`
	Since     *time.Time `json:"since"`
}

// TaskRetention is a record the system must keep. Until is absent when unknown, as under
// a legal hold.
type TaskRetention struct {
	What   string     `json:"what"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

var errNoTask = fail(http.StatusNotFound, "no such task")

// completeTask hands the result to requests.Service.CompleteTask.
func (s *Server) completeTask(c echo.Context) error {
	var body TaskCompletion
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	result, err := body.validate()
	if err != nil {
		return err
	}
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return errNoTask
	}
	done, err := s.svc.CompleteTask(c.Request().Context(), id, result, body.Note, staffActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, taskView(*done))
}

// validate checks the completion as the webhook protocol checks a service's answer, and
// bounds it as intake bounds a request: the requester reads every part but the note.
func (b TaskCompletion) validate() (connector.Result, error) {
	fields := map[string]string{}
	if b.Result == nil {
		fields["result"] = "is required"
		return connector.Result{}, invalidFields(fields)
	}
	r := b.Result
	checkText(fields, "note", b.Note, false)
	checkTexts(fields, "result.found", r.Found)
	checkTexts(fields, "result.changed", r.Changed)
	checkTexts(fields, "result.notes", r.Notes)
	if len(r.Retained) > domain.MaxItems {
		fields["result.retained"] = fmt.Sprintf("has more than %d entries", domain.MaxItems)
	}
	out := connector.Result{Found: r.Found, Changed: r.Changed, Notes: r.Notes, NotFound: r.NotFound}
	for i, kept := range r.Retained {
		path := fmt.Sprintf("result.retained[%d]", i)
		checkText(fields, path+".what", kept.What, true)
		checkText(fields, path+".reason", kept.Reason, true)
		retention := connector.Retention{What: kept.What, Reason: kept.Reason}
		if kept.Until != nil {
			retention.Until = kept.Until.UTC()
		}
		out.Retained = append(out.Retained, retention)
	}
	if len(r.DisclosedTo) > domain.MaxItems {
		fields["result.disclosed_to"] = fmt.Sprintf("has more than %d entries", domain.MaxItems)
	}
	for i, d := range r.DisclosedTo {
		checkText(fields, fmt.Sprintf("result.disclosed_to[%d].recipient", i), d.Recipient, true)
		disclosure := connector.Disclosure{Recipient: strings.TrimSpace(d.Recipient)}
		if d.Since != nil {
			disclosure.Since = d.Since.UTC()
		}
		out.DisclosedTo = append(out.DisclosedTo, disclosure)
	}
	if len(fields) > 0 {
		return connector.Result{}, invalidFields(fields)
	}
	return out, nil
}

func checkTexts(fields map[string]string, path string, texts []string) {
	if len(texts) > domain.MaxItems {
		fields[path] = fmt.Sprintf("has more than %d entries", domain.MaxItems)
		return
	}
	for i, text := range texts {
		checkText(fields, fmt.Sprintf("%s[%d]", path, i), text, true)
	}
}

func checkText(fields map[string]string, path, text string, required bool) {
	switch {
	case required && strings.TrimSpace(text) == "":
		fields[path] = "must not be blank"
	case utf8.RuneCountInString(text) > domain.MaxValueLength:
		fields[path] = fmt.Sprintf("is longer than %d characters", domain.MaxValueLength)
	}
}
