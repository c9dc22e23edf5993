package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/workflows"
)

func staffActor(c echo.Context) workflows.Actor {
	tok := currentToken(c)
	return workflows.Actor{Name: tok.Name, Role: tok.Role, ID: tok.ID}
}

// staffOpening records who opens a request: the name for people, the token ID for the
// check that a second staff member approves it.
func staffOpening(c echo.Context) requests.Opening {
	actor := staffActor(c)
	return requests.Opening{OpenedBy: actor.Name, OpenedByID: actor.ID}
}

// staffIntake opens a request on someone's behalf, such as a child's erasure. It skips the
// mailbox proof and needs a second staff member's approval, so it gets no status token.
func (s *Server) staffIntake(c echo.Context) error {
	in, err := s.readIntake(c, true)
	if err != nil {
		return err
	}
	answer, _, err := s.svc.Open(c.Request().Context(), in, staffOpening(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, answer)
}

// findRequest returns the request row, or 404 for an unknown or malformed ID.
func (s *Server) findRequest(ctx context.Context, id string) (*requestdb.Request, error) {
	return s.svc.Find(ctx, id)
}

// StaffView is everything about one request: its row, each system's progress and the
// audit trail, read from the database, and the workflow's own account of it. State is
// missing, with StateError saying why, when the engine cannot answer.
type StaffView struct {
	Request StaffRequest `json:"request"`
	// Stores is each system's progress with the request.
	Stores     []requests.StoreView    `json:"stores"`
	State      *workflows.RequestState `json:"state,omitempty"`
	StateError string                  `json:"state_error,omitempty"`
	Audit      []AuditEntry            `json:"audit"`
	// Plans are each system's plan as the request page shows it: without row keys.
	Plans []requestdb.SealedPlan `json:"plans"`
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
	// The view carries the requester's address, so reading it is recorded first.
	if err := s.svc.RecordRead(c.Request().Context(), c.Param("id"), staffActor(c), requests.ReadInStaffAPI); err != nil {
		return err
	}
	v, err := s.svc.Staff(c.Request().Context(), c.Param("id"), true)
	if err != nil {
		return err
	}
	view := StaffView{Request: v.Request, State: v.State, StateError: v.StateError, Stores: v.Stores, Audit: make([]AuditEntry, len(v.Audit)),
		Plans: make([]requestdb.SealedPlan, len(v.Plans))}
	for i, e := range v.Audit {
		view.Audit[i] = auditEntry(e)
	}
	for i, p := range v.Plans {
		p.Plan.Tables = slices.Clone(p.Plan.Tables)
		for j := range p.Plan.Tables {
			p.Plan.Tables[j].Rows = nil
		}
		view.Plans[i] = p
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

// staffAction applies one action through the workflow, whose validator decides whether it
// is allowed now, and answers with the workflow's state that follows.
func (s *Server) staffAction(c echo.Context) error {
	if _, ok := requests.StaffActions[c.Param("action")]; !ok {
		return fail(http.StatusNotFound, "no such action")
	}
	var body StaffActionBody
	if err := decodeJSON(c, &body, true); err != nil {
		return err
	}
	st, err := s.svc.ActAndReport(c.Request().Context(), c.Param("id"), requests.StaffAction{
		Name: c.Param("action"), Actor: staffActor(c), Reason: body.Reason, Text: body.Text, Assignee: body.Assignee, Store: body.Store,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}
