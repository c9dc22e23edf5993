package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// The privacy team's appeal pages: the list of appeals, and the appeal on its request's
// page with the forms to decide and extend it, offered only to whom may use them.

// appealData adds the request's appeal to its page. The decide form is offered to anyone
// but the staff member who refused the request, compared by token ID as the workflow does.
func (s *Server) appealData(c echo.Context, p *requestPageData) error {
	ap, err := s.svc.Appeal(c.Request().Context(), p.Row.ID)
	var de *domain.Error
	if errors.As(err, &de) && de.Code == domain.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	actor := staffActor(c)
	open := ap.Status == domain.AppealOpen
	p.Appeal = ap
	p.AppealDecidable = open && (ap.RefusedByID == "" || ap.RefusedByID != actor.ID)
	rules := s.svc.Rules(p.Row.Jurisdiction)
	p.AppealExtendable = open && ap.ExtendedAt == nil && rules.Appeal != nil && rules.Appeal.Extension != nil
	return nil
}

// appealActionForm decides or extends an appeal as the API's POST .../appeal/decision and
// .../appeal/extension do; a refusal is shown on the request's page.
func (s *Server) appealActionForm(c echo.Context) error {
	ctx := c.Request().Context()
	id, verb := c.Param("id"), c.Param("verb")
	reason := strings.TrimSpace(c.FormValue("reason"))
	var err error
	switch verb {
	case "decide":
		d := c.FormValue("decision")
		if d != "grant" && d != "deny" {
			err = domain.InvalidFields(map[string]string{"decision": "choose grant or deny"})
			break
		}
		err = s.svc.DecideAppeal(ctx, id, requests.AppealDecision{Actor: staffActor(c), Granted: d == "grant", Reason: reason})
	case "extend":
		err = s.svc.ExtendAppeal(ctx, id, staffActor(c), reason)
	default:
		return s.renderError(c, fail(http.StatusNotFound, "no such action"))
	}
	if err != nil {
		return s.requestPageRefusal(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/requests/"+id+"?done="+url.QueryEscape("appeal-"+verb)+"#appeal")
}

// appealsPageData lists appeals in one status, or all.
type appealsPageData struct {
	webPage
	Status  string
	Tabs    []appealTab
	Appeals []requestdb.Appeal
}

// appealTab is one status filter of the appeals list.
type appealTab struct {
	Status  string
	Label   string
	Current bool
}

func (s *Server) appealsPage(c echo.Context) error {
	status := c.QueryParam("status")
	if status == "" {
		status = string(domain.AppealOpen)
	}
	p := appealsPageData{webPage: s.staffPage(c, "Appeals"), Status: status}
	for _, t := range []appealTab{{"open", "Open", false}, {"granted", "Granted: to act on", false}, {"denied", "Denied", false}, {"all", "All", false}} {
		t.Current = t.Status == status
		p.Tabs = append(p.Tabs, t)
	}
	var filter domain.AppealStatus
	if status != "all" {
		st, err := domain.ParseAppealStatus(status)
		if err != nil {
			return s.renderError(c, fail(http.StatusNotFound, "no such list of appeals"))
		}
		filter = st
	}
	list, err := s.svc.Appeals(c.Request().Context(), filter)
	if err != nil {
		return s.renderError(c, err)
	}
	p.Appeals = list
	return s.render(c, http.StatusOK, "appeals.html", p)
}
