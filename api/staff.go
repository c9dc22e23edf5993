package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

func staffActor(c echo.Context) workflows.Actor {
	tok := currentToken(c)
	return workflows.Actor{Name: tok.Name, Role: string(tok.Role)}
}

// staffIntake opens a request on someone's behalf, such as a child's erasure. It skips the
// mailbox proof and needs a second staff member's approval, so it gets no status token.
func (s *Server) staffIntake(c echo.Context) error {
	in, err := s.readIntake(c, true)
	if err != nil {
		return err
	}
	answer, err := s.openRequest(c.Request().Context(), in, opening{id: uuid.NewString(), openedBy: staffActor(c).Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, answer)
}

var errNoRequest = fail(http.StatusNotFound, "no such request")

// findRequest returns the request row, or 404 for an unknown or malformed ID.
func (s *Server) findRequest(ctx context.Context, id string) (*requestdb.Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errNoRequest
	}
	row, err := s.opts.Requests.GetRequest(ctx, id)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, errNoRequest
	case err != nil:
		return nil, unavailable(err)
	}
	return row, nil
}

// StaffView is everything about one request: its row, the workflow's whole state and the
// audit trail. State is missing, with StateError saying why, when the engine cannot answer.
type StaffView struct {
	Request    StaffRequest            `json:"request"`
	State      *workflows.RequestState `json:"state,omitempty"`
	StateError string                  `json:"state_error,omitempty"`
	Audit      []AuditEntry            `json:"audit"`
}

// StaffRequest is the request row without the hash of the requester's status token.
type StaffRequest = requestdb.Record

// AuditEntry is one recorded step.
type AuditEntry struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor,omitempty"`
	Role       string          `json:"role,omitempty"`
	Action     string          `json:"action"`
	FromStatus string          `json:"from_status,omitempty"`
	ToStatus   string          `json:"to_status,omitempty"`
	Details    json.RawMessage `json:"details"`
}

func auditEntry(e requestdb.AuditEvent) AuditEntry {
	return AuditEntry{
		Seq: e.Seq, At: e.At, Actor: e.Actor, Role: e.Role, Action: e.Action,
		FromStatus: e.FromStatus, ToStatus: e.ToStatus, Details: requestdb.RawJSON(e.Details),
	}
}

func staffRequestView(r *requestdb.Request) StaffRequest { return r.Record() }

func (s *Server) staffRequest(c echo.Context) error {
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	events, err := s.opts.Requests.AuditEvents(ctx, row.ID)
	if err != nil {
		return unavailable(err)
	}
	view := StaffView{Request: staffRequestView(row), Audit: make([]AuditEntry, len(events))}
	for i, e := range events {
		view.Audit[i] = auditEntry(e)
	}
	st, err := s.state(ctx, row.ID)
	if err != nil {
		s.log.Warn("request state unavailable", "request_id", row.ID, "error", err)
		view.StateError = "the workflow engine did not answer; the row and audit trail may lag behind"
	} else {
		view.State = &st
	}
	return c.JSON(http.StatusOK, view)
}

// StaffActionBody carries what an action needs: a reason to deny, extend or cancel, the
// text of a note, an assignee, or the store to retry.
type StaffActionBody struct {
	Reason   string `json:"reason"`
	Text     string `json:"text"`
	Assignee string `json:"assignee"`
	Store    string `json:"store"`
}

// staffUpdates maps each action of POST /api/v1/admin/requests/{id}/{action} to its update.
var staffUpdates = map[string]string{
	"approve":         workflows.UpdateApprove,
	"deny":            workflows.UpdateDeny,
	"verify-identity": workflows.UpdateVerifyIdentity,
	"extend":          workflows.UpdateExtend,
	"cancel":          workflows.UpdateCancel,
	"retry":           workflows.UpdateRetryStore,
	"notes":           workflows.UpdateAddNote,
	"assign":          workflows.UpdateAssign,
}

// staffAction applies one action through the workflow, whose validator decides whether it
// is allowed now, and answers with the state that follows.
func (s *Server) staffAction(c echo.Context) error {
	update, ok := staffUpdates[c.Param("action")]
	if !ok {
		return fail(http.StatusNotFound, "no such action")
	}
	var body StaffActionBody
	if err := decodeJSON(c, &body, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	action := workflows.StaffAction{Actor: staffActor(c), Reason: body.Reason, Text: body.Text, Assignee: body.Assignee, Store: body.Store}
	if err := s.update(ctx, row.ID, update, nil, action); err != nil {
		return err
	}
	st, err := s.state(ctx, row.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}
