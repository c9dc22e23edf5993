// Package api serves dsr's HTTP API and web pages with Echo.
package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/discover"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/drp"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

// Check is one dependency that /readyz asks about.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Options are the server's dependencies and the policies intake fixes on each request.
type Options struct {
	Log *slog.Logger
	// Checks are what /readyz reports on, in order.
	Checks    []Check
	Temporal  client.Client
	TaskQueue string
	Requests  *requestdb.Repo
	Tokens    *auth.Repo
	Secret    keys.Secret
	// DevMailbox is set only under `dsr dev`; nil leaves out the /api/v1/dev and /dev routes.
	DevMailbox *requestdb.DevMailbox
	// Identity, Deadline and Verification are fixed on each request at intake. A nil
	// Identity means domain.DefaultIdentityPolicy, a zero Verification the defaults.
	Identity     domain.IdentityPolicy
	Deadline     domain.DeadlinePolicy
	Verification workflows.VerificationSettings
	// Jurisdictions gives each law's deadlines; nil means the built-in table.
	Jurisdictions *domain.Jurisdictions
	// Now is the clock of intake; nil means time.Now.
	Now func() time.Time
	// EvidenceSigner signs evidence bundles (DSR_SIGNING_KEY); nil derives the key from
	// Secret, as audit.SigningKey does.
	EvidenceSigner ed25519.PrivateKey
	// PayloadCodec decodes workflow payloads in evidence bundles and serves POST
	// /codec/encode and /codec/decode for the Temporal Web UI and CLI. nil leaves payloads
	// as the engine stores them and the codec routes out.
	PayloadCodec converter.PayloadCodec
	// CodecOrigins are the Web UI origins (scheme://host[:port]) that may call the codec
	// routes from a browser, matched exactly.
	CodecOrigins []string
	// CodecTrustedOrigin is for `dsr dev` only: a codec request with this Origin that
	// arrives over loopback needs no token, because the embedded Web UI has no login. Behind
	// a reverse proxy on the same host every request arrives over loopback, so production
	// leaves it empty. The origin is allowed by CORS as well.
	CodecTrustedOrigin string
	// CallbackKeys returns the secret of a webhook key ID, as webhook.CallbackKeys does; nil
	// leaves out POST /api/v1/callbacks/{id}.
	CallbackKeys func(keyID string) ([]byte, bool)
	// CallbackStores maps each webhook store to the ID of the key it signs callbacks with,
	// so that one store cannot answer for another.
	CallbackStores map[string]string
	// RateLimits bound intake and verification per client and per address or request; the
	// zero value means DefaultRateLimits.
	RateLimits RateLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
	// believed. A request from any other address is counted by that address.
	TrustedProxies []netip.Prefix
	// Sessions keeps dashboard sessions; nil leaves out /api/v1/session, and only bearer
	// tokens sign staff in.
	Sessions *auth.Sessions
	// SecureCookies marks the session cookie Secure even when TLS ends before this server
	// at a proxy that is not in TrustedProxies.
	SecureCookies bool
	// TemporalUIURL is the Temporal Web UI's base URL (scheme://host[:port]); when set, a
	// request's dashboard page links to its workflow there. TemporalNamespace is the
	// namespace in that link; empty means "default".
	TemporalUIURL     string
	TemporalNamespace string
	// Middleware wraps every route inside the recovery, such as telemetry's metrics and
	// tracing (telemetry.HTTPMiddleware).
	Middleware []echo.MiddlewareFunc
	// Brand is the organisation's name, logo, privacy policy and colour on the public pages.
	Brand Brand
	// Service carries out what the handlers are asked; nil builds one from Requests,
	// Temporal, TaskQueue, Secret, DataMaps and the intake policies above.
	Service *requests.Service
	// DataMaps name the company's stores, tables, columns and categories to requesters.
	DataMaps []*datamap.Map
	// TransparencyLog is the public log of request milestones; nil leaves its routes out.
	TransparencyLog *tlog.Log
	// DataMapScanner finds personal data the data maps leave out, for the admins' page;
	// nil when no map has a sql store.
	DataMapScanner DataMapScanner
	// DRP turns on the Data Rights Protocol endpoints; nil leaves them out. The server
	// fills in its Store and Requests.
	DRP *drp.Options
}

// DataMapScanner lists columns and tables that look like personal data the data maps do
// not cover (discover.Scanner).
type DataMapScanner interface {
	Scan(ctx context.Context) ([]discover.MapReport, error)
}

// Server is dsr's HTTP front: the JSON API, the web pages and the probes.
type Server struct {
	echo *echo.Echo
	opts Options
	log  *slog.Logger
	// signer signs evidence bundles; signerErr says why there is none.
	signer    ed25519.PrivateKey
	signerErr error
	limiters  limiters
	// svc does what the handlers are asked; they only bind, call it and render.
	svc *requests.Service
	// drp answers authorized agents; nil when the protocol is off.
	drp *drp.Service
}

// MaxBodyBytes bounds every request body; the largest legitimate one, an intake with 50
// changes of 1000 characters, fits well within it.
const MaxBodyBytes = 64 << 10

// ownBodyLimit lists the routes whose handlers bound their bodies themselves, because
// payloads and callbacks may be larger than MaxBodyBytes.
var ownBodyLimit = map[string]bool{
	intakePath:      true,
	agentFormPath:   true,
	codecEncodePath: true,
	codecDecodePath: true,
	callbackPath:    true,
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{echo: e, opts: opts, log: log, limiters: newLimiters(opts.RateLimits), svc: opts.Service}
	if s.svc == nil {
		s.svc = requests.New(requests.Options{
			Store: opts.Requests, Engine: requests.NewTemporalEngine(opts.Temporal, opts.TaskQueue), Secret: opts.Secret,
			Identity: opts.Identity, Deadline: opts.Deadline, Verification: opts.Verification, Now: opts.Now, Log: log,
			DataMaps: opts.DataMaps, Jurisdictions: opts.Jurisdictions,
		})
	}
	if opts.DRP != nil {
		o := *opts.DRP
		o.Store, o.Requests = opts.Requests, s.svc
		if o.Log == nil {
			o.Log = log
		}
		s.drp = drp.New(o)
	}
	s.signer, s.signerErr = audit.SigningKey(opts.EvidenceSigner, opts.Secret)
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	e.Use(opts.Middleware...)
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true,
		// Only the path is logged: query strings and bodies may carry personal data.
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			log.Debug("http", "method", v.Method, "path", v.URIPath, "status", v.Status, "latency", v.Latency)
			return nil
		},
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit:   strconv.Itoa(MaxBodyBytes),
		Skipper: func(c echo.Context) bool { return ownBodyLimit[c.Path()] },
	}))
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	s.routes()
	s.drpRoutes()
	return s
}

func (s *Server) routes() {
	s.echo.GET("/api/v1/openapi.yaml", s.openAPIYAML)
	s.echo.GET("/api/v1/openapi.json", s.openAPIJSON)

	public := s.echo.Group(intakePath)
	public.POST("", s.intake)
	// The report also opens by the signed link a review's completion mail carries.
	public.GET("/:id/report", s.requesterReport, s.limitVerifyByIP, s.requireReportAccess)
	public.GET("/:id/report.zip", s.portableCopy, s.limitVerifyByIP, s.requireReportAccess)
	mine := public.Group("/:id", s.limitVerifyByIP, s.requireStatusToken)
	mine.GET("", s.requesterStatus)
	mine.POST("/verify", s.verifyEmail, s.limitVerifyByRequest)
	mine.POST("/resend-code", s.resendCode, s.limitVerifyByRequest)
	mine.POST("/identity", s.submitIdentity, s.limitVerifyByRequest)
	mine.POST("/appeal", s.submitAppeal, s.limitVerifyByRequest)
	mine.GET("/appeal", s.requesterAppealStatus)
	s.logRoutes(public)

	if s.opts.Sessions != nil {
		s.echo.POST(sessionPath, s.signIn)
		s.echo.DELETE(sessionPath, s.signOut)
	}

	staff := s.echo.Group("/api/v1/admin", s.requireRole("only an analyst or admin may do this", staffRoles...))
	staff.GET("/requests", s.listRequests)
	staff.POST("/requests", s.staffIntake)
	staff.GET("/requests/:id", s.staffRequest)
	staff.GET("/requests/:id/permission", s.permissionFile)
	staff.POST("/requests/:id/:action", s.staffAction)
	staff.GET("/appeals", s.listAppeals)
	staff.POST("/requests/:id/appeal/decision", s.decideAppeal)
	staff.POST("/requests/:id/appeal/extension", s.extendAppeal)
	staff.GET("/metrics", s.metrics)
	staff.GET("/tasks", s.listTasks)
	staff.POST("/tasks/:id/complete", s.completeTask)

	auditor := s.echo.Group("/api/v1/audit", s.requireRole("only an auditor or admin may read the audit record", auditorRoles...))
	auditor.GET("/requests/:id/history", s.workflowHistory)
	auditor.GET("/requests/:id/evidence", s.evidence)
	auditor.GET("/events", s.auditEvents)
	auditor.GET("/public-key", s.publicKey)

	if s.opts.CallbackKeys != nil {
		s.echo.POST(callbackPath, s.storeCallback)
	}
	if s.opts.PayloadCodec != nil {
		s.codecRoutes()
	}

	if s.opts.DevMailbox != nil {
		s.echo.GET("/api/v1/dev/mail", s.devMailJSON)
		s.echo.GET("/dev/mail", s.devMailPage)
	}
	s.webRoutes()
}

// Route is one method and path the server answers, with Echo's :name parameters.
type Route struct {
	Method string
	Path   string
}

// Routes lists what the server answers, for the OpenAPI and access tests. It leaves out
// the catch-alls Echo adds to groups so that their middleware sees unknown paths.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// Handler exposes the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on ln until ctx ends, then drains in-flight requests for up to grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second}
	if s.opts.Requests != nil {
		purgeCtx, stopPurge := context.WithCancel(ctx)
		defer stopPurge()
		go s.purgeIdempotencyKeys(purgeCtx)
	}
	if s.opts.Sessions != nil {
		purgeCtx, stopPurge := context.WithCancel(ctx)
		defer stopPurge()
		go s.purgeSessions(purgeCtx)
	}
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
	checks := s.opts.Checks
	report := ReadyReport{Status: "ready", Checks: map[string]string{}}
	results := make([]error, len(checks))
	done := make(chan struct{})
	for i, chk := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(c.Request().Context(), readinessTimeout)
			defer cancel()
			results[i] = chk.Run(ctx)
			done <- struct{}{}
		}()
	}
	for range checks {
		<-done
	}
	for i, chk := range checks {
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
