package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// AppealList is one page of the appeals list. NextCursor, given back as ?cursor= with the
// same status, fetches the page after this one; it is absent on the last page.
type AppealList struct {
	Appeals    []StaffAppeal `json:"appeals"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// appealParams are the query parameters GET /api/v1/admin/appeals takes.
var appealParams = map[string]bool{"status": true, "limit": true, "cursor": true}

// appealQuery is a validated appeals list request.
type appealQuery struct {
	status domain.AppealStatus
	after  *requestdb.Cursor
	limit  int
}

// appealsCursor names the list a cursor belongs to, so that one status's cursor cannot be
// replayed against another's list.
func appealsCursor(status domain.AppealStatus) string { return "appeals:" + string(status) }

// readAppealQuery validates the list's parameters as readListParams does the request list's:
// an unknown parameter is refused, and every bad value named in one answer.
func readAppealQuery(params url.Values) (appealQuery, error) {
	for name := range params {
		if !appealParams[name] {
			return appealQuery{}, errUnknownParameter
		}
	}
	q := appealQuery{limit: defaultPageSize}
	fields := map[string]string{}
	if v := params.Get("status"); v != "" {
		st, err := domain.ParseAppealStatus(v)
		if err != nil {
			fields["status"] = "want open, granted or denied"
		}
		q.status = st
	}
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			fields["limit"] = fmt.Sprintf("must be a number from 1 to %d", maxPageSize)
		}
		q.limit = n
	}
	if len(fields) > 0 {
		return appealQuery{}, invalidFields(fields)
	}
	if v := params.Get("cursor"); v != "" {
		after, err := decodeCursor(appealsCursor(q.status), v)
		if err != nil {
			return appealQuery{}, badInput("cursor", "is not a cursor of this list")
		}
		q.after = &after
	}
	return q, nil
}

// listAppeals is GET /api/v1/admin/appeals?status=open&limit=&cursor=.
func (s *Server) listAppeals(c echo.Context) error {
	q, err := readAppealQuery(c.QueryParams())
	if err != nil {
		return err
	}
	page, err := s.svc.Appeals(c.Request().Context(), q.status, q.after, q.limit)
	if err != nil {
		return err
	}
	out := AppealList{Appeals: page.Appeals}
	if out.Appeals == nil {
		out.Appeals = []StaffAppeal{}
	}
	if page.Next != nil {
		out.NextCursor = encodeCursor(appealsCursor(q.status), *page.Next)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
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
