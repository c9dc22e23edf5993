package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// Appeals of refused requests: the requester appeals through the status token, staff list
// and decide them. The service says who may appeal and decide; these handlers bind and
// answer.

// AppealBody is the requester's appeal: why they disagree, in their own words.
type AppealBody struct {
	Text string `json:"text"`
}

// RequesterAppeal is the requester's view of their appeal.
type RequesterAppeal struct {
	RequestID      string              `json:"request_id"`
	Status         domain.AppealStatus `json:"status"`
	ReceivedAt     time.Time           `json:"received_at"`
	DueAt          time.Time           `json:"due_at"`
	Extended       bool                `json:"extended"`
	DecidedAt      *time.Time          `json:"decided_at,omitempty"`
	DecisionReason string              `json:"decision_reason,omitempty"`
	// Regulator is whom to contact when the appeal is denied.
	Regulator *domain.Regulator `json:"regulator,omitempty"`
}

func requesterAppeal(ap *requestdb.Appeal, regulator *domain.Regulator) RequesterAppeal {
	out := RequesterAppeal{RequestID: ap.RequestID, Status: ap.Status, ReceivedAt: ap.ReceivedAt, DueAt: ap.DueAt,
		Extended: ap.ExtendedAt != nil, DecidedAt: ap.DecidedAt, DecisionReason: ap.DecisionReason}
	if ap.Status == domain.AppealDenied {
		out.Regulator = regulator
	}
	return out
}

// submitAppeal is POST /api/v1/requests/{id}/appeal.
func (s *Server) submitAppeal(c echo.Context) error {
	var body AppealBody
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	row := currentRequest(c)
	ap, err := s.svc.SubmitAppeal(c.Request().Context(), row, body.Text)
	if err != nil {
		return err
	}
	rules := s.svc.Rules(row.Jurisdiction)
	return c.JSON(http.StatusAccepted, requesterAppeal(ap, rules.Regulator))
}

// requesterAppealStatus is GET /api/v1/requests/{id}/appeal.
func (s *Server) requesterAppealStatus(c echo.Context) error {
	row := currentRequest(c)
	ap, err := s.svc.Appeal(c.Request().Context(), row.ID)
	if err != nil {
		return err
	}
	rules := s.svc.Rules(row.Jurisdiction)
	return c.JSON(http.StatusOK, requesterAppeal(ap, rules.Regulator))
}

// StaffAppeal is an appeal as staff see it, the person's text included.
type StaffAppeal = requestdb.Appeal

// listAppeals is GET /api/v1/admin/appeals?status=open.
func (s *Server) listAppeals(c echo.Context) error {
	var status domain.AppealStatus
	if v := c.QueryParam("status"); v != "" {
		st, err := domain.ParseAppealStatus(v)
		if err != nil {
			return domain.InvalidFields(map[string]string{"status": "want open, granted or denied"})
		}
		status = st
	}
	out, err := s.svc.Appeals(c.Request().Context(), status)
	if err != nil {
		return err
	}
	if out == nil {
		out = []requestdb.Appeal{}
	}
	return c.JSON(http.StatusOK, out)
}

// AppealDecisionBody grants or denies an appeal, with the reason the person is sent.
type AppealDecisionBody struct {
	Granted bool   `json:"granted"`
	Reason  string `json:"reason"`
}

// decideAppeal is POST /api/v1/admin/requests/{id}/appeal/decision.
func (s *Server) decideAppeal(c echo.Context) error {
	var body AppealDecisionBody
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	ctx := c.Request().Context()
	err := s.svc.DecideAppeal(ctx, c.Param("id"), requests.AppealDecision{Actor: staffActor(c), Granted: body.Granted, Reason: body.Reason})
	if err != nil {
		return err
	}
	ap, err := s.svc.Appeal(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ap)
}

// AppealExtensionBody extends an appeal's deadline, with the reason the person is sent.
type AppealExtensionBody struct {
	Reason string `json:"reason"`
}

// extendAppeal is POST /api/v1/admin/requests/{id}/appeal/extension.
func (s *Server) extendAppeal(c echo.Context) error {
	var body AppealExtensionBody
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.svc.ExtendAppeal(ctx, c.Param("id"), staffActor(c), body.Reason); err != nil {
		return err
	}
	ap, err := s.svc.Appeal(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ap)
}
