// Package api serves dsr's HTTP API and web pages with Echo.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Check is one dependency that /readyz asks about.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Server is dsr's HTTP front: the JSON API, the web pages and the probes.
type Server struct {
	echo   *echo.Echo
	checks []Check
	log    *slog.Logger
}

// New builds the server. checks are what /readyz reports on, in order.
func New(log *slog.Logger, checks []Check) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true,
		// Only the path is logged: query strings and bodies may carry personal data.
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			log.Debug("http", "method", v.Method, "path", v.URIPath, "status", v.Status, "latency", v.Latency)
			return nil
		},
	}))
	s := &Server{echo: e, checks: checks, log: log}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	return s
}

// Handler exposes the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on ln until ctx ends, then drains in-flight requests for up to grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readinessTimeout bounds each check so a hung dependency reads as down, not as a hung probe.
const readinessTimeout = 3 * time.Second

// ReadyReport is the body of /readyz.
type ReadyReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Down   []string          `json:"down,omitempty"`
}

func (s *Server) readyz(c echo.Context) error {
	report := ReadyReport{Status: "ready", Checks: map[string]string{}}
	results := make([]error, len(s.checks))
	done := make(chan struct{})
	for i, chk := range s.checks {
		go func() {
			ctx, cancel := context.WithTimeout(c.Request().Context(), readinessTimeout)
			defer cancel()
			results[i] = chk.Run(ctx)
			done <- struct{}{}
		}()
	}
	for range s.checks {
		<-done
	}
	for i, chk := range s.checks {
		if err := results[i]; err != nil {
			report.Checks[chk.Name] = err.Error()
			report.Down = append(report.Down, chk.Name)
			s.log.Warn("readiness check failed", "check", chk.Name, "error", err)
			continue
		}
		report.Checks[chk.Name] = "ok"
	}
	if len(report.Down) > 0 {
		report.Status = "not ready"
		return c.JSON(http.StatusServiceUnavailable, report)
	}
	return c.JSON(http.StatusOK, report)
}
