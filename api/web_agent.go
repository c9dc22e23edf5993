package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requests"
)

// The form an authorized agent makes a request with (CCPA regulations §7063). It is the
// request form with the agent's name, contact and the permission the person signed; the
// agent's browser gets no status cookie, since the request's pages and report are the
// person's, opened by the links mailed to them.

// agentFormPath takes agents' requests, as multipart forms that carry the permission file;
// it bounds its bodies itself, at MaxIntakeBytes.
const agentFormPath = "/agent"

func (s *Server) agentPageRoutes() {
	s.echo.GET(agentFormPath, s.agentFormPage, webHeaders)
	s.echo.POST(agentFormPath, s.submitAgentForm, webHeaders)
}

// agentSentPage tells the agent what happens next.
type agentSentPage struct {
	webPage
	ID, Contact string
}

func (s *Server) newAgentForm(c echo.Context, values url.Values) requestFormPage {
	p := s.newRequestForm(c, values)
	p.webPage = s.publicPage(c, "agent_form_title")
	// A browser's privacy signal is the agent's, not the person's.
	p.GPC, p.Agent = false, true
	return p
}

func (s *Server) agentFormPage(c echo.Context) error {
	return s.render(c, http.StatusOK, "request_form.html", s.newAgentForm(c, url.Values{"jurisdiction": {string(domain.JurisdictionDefault)}}))
}

// submitAgentForm opens an agent's request as POST /api/v1/requests does with an agent,
// then says what happens next. A refusal shows the form again with everything typed.
func (s *Server) submitAgentForm(c echo.Context) error {
	if err := s.limitIntakeByIP(c); err != nil {
		return s.renderError(c, err)
	}
	limitBody(c, MaxIntakeBytes)
	r := c.Request()
	if err := r.ParseMultipartForm(MaxIntakeBytes); err != nil {
		return s.renderError(c, readError(err))
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	values := url.Values(r.MultipartForm.Value)
	page := s.newAgentForm(c, values)
	permission, err := formFile(r, "permission")
	if err != nil {
		return s.renderError(c, err)
	}
	form, rows := webIntake(values, page.Lang())
	form.Agent = &requests.AgentForm{Name: values.Get("agent_name"), Contact: values.Get("agent_contact"), Permission: permission}
	answer, in, opened, err := s.openFromForm(c, &page, form, rows, requests.Opening{})
	if !opened {
		return err
	}
	return s.render(c, http.StatusOK, "agent_sent.html", agentSentPage{webPage: s.publicPage(c, "agent_sent_title"), ID: answer.ID, Contact: in.Agent.Contact})
}

// formFile reads the named file of a multipart form, a little past the largest permission
// so that validation can say it is too large; no file reads as empty.
func formFile(r *http.Request, name string) ([]byte, error) {
	f, _, err := r.FormFile(name)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, readError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, requests.MaxPermissionBytes+1))
	if err != nil {
		return nil, readError(err)
	}
	return data, nil
}

// permissionFile sends an agent's signed permission to a staff member as a download, once
// the audit log has recorded that they opened it.
func (s *Server) permissionFile(c echo.Context) error {
	p, err := s.svc.ReadPermission(c.Request().Context(), c.Param("id"), staffActor(c))
	if err != nil {
		return err
	}
	ext := map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[p.ContentType]
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="permission-`+c.Param("id")+ext+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, p.ContentType, p.Data)
}

// permissionFilePage is permissionFile for the staff pages, whose errors are pages.
func (s *Server) permissionFilePage(c echo.Context) error {
	if err := s.permissionFile(c); err != nil {
		return s.renderError(c, err)
	}
	return nil
}
