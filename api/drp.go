package api

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/dsr-project/dsr/internal/drp"
)

// The Data Rights Protocol 1.0 endpoints (internal/drp), under the public URL, which is the
// api_base of dsr's business discovery document. Bodies are signed text/plain (section
// 3.07.1); they are read whatever Content-Type they arrive with.
const (
	drpPathPrefix   = "/v1/"
	drpAgentPath    = "/v1/agent/:agent_id"
	drpRequestsPath = "/v1/data-rights-request"
	drpRequestPath  = "/v1/data-rights-request/:request_id"
	// DRPBusinessPath serves dsr's entry for the Covered Business directory (section 3.05.2).
	DRPBusinessPath = "/.well-known/drp/business.json"
)

func (s *Server) drpRoutes() {
	if s.drp == nil {
		return
	}
	e := s.echo
	// Before 0.9.3 the exercise path had a trailing slash (2.01): it is served as the
	// path without, in place, never by a redirect an agent might not follow with its body.
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{
		Skipper: func(c echo.Context) bool { return c.Request().URL.Path != drpRequestsPath+"/" },
	}))
	e.GET(DRPBusinessPath, s.drpBusiness)
	e.POST(drpAgentPath, s.drpSetUpAgent)
	e.GET(drpAgentPath, s.drpAgentInformation)
	e.POST(drpRequestsPath, s.drpExercise)
	e.GET(drpRequestPath, s.drpStatus)
	e.DELETE(drpRequestPath, s.drpRevoke)
}

func (s *Server) drpBusiness(c echo.Context) error {
	return c.JSON(http.StatusOK, s.drp.Business())
}

func (s *Server) drpSetUpAgent(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	answer, err := s.drp.SetUpAgent(c.Request().Context(), c.Param("agent_id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, answer)
}

func (s *Server) drpAgentInformation(c echo.Context) error {
	agent, err := s.drp.AgentOfToken(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		return err
	}
	if err := s.drp.AgentInformation(agent, c.Param("agent_id")); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct{}{})
}

func (s *Server) drpExercise(c echo.Context) error {
	ctx := c.Request().Context()
	agent, err := s.drp.AgentOfToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	status, err := s.drp.Exercise(ctx, agent, body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, status)
}

func (s *Server) drpStatus(c echo.Context) error {
	ctx := c.Request().Context()
	agent, err := s.drp.AgentOfToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		return err
	}
	status, err := s.drp.Status(ctx, agent, c.Param("request_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, status)
}

func (s *Server) drpRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	agent, err := s.drp.AgentOfToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	status, err := s.drp.Revoke(ctx, agent, c.Param("request_id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, status)
}

// writeDRPError answers a refused protocol call in the error shape of section 3.06, or with
// the status alone where the protocol wants no body (2.05.1).
func (s *Server) writeDRPError(c echo.Context, e *drp.Error) {
	if e.Err != nil || e.Status >= 500 {
		s.log.Error("drp request failed", "method", c.Request().Method, "route", c.Path(), "status", e.Status, "error", e)
	} else {
		s.log.Info("drp request refused", "method", c.Request().Method, "route", c.Path(), "status", e.Status, "why", e.Message)
	}
	var err error
	if e.NoBody {
		err = c.NoContent(e.Status)
	} else {
		err = c.JSON(e.Status, e.Body())
	}
	if err != nil {
		s.log.Error("write drp error answer", "error", err)
	}
}
