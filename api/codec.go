package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dsr-project/dsr/internal/auth"
)

// The codec routes, where the Temporal Web UI and CLI (--codec-endpoint <base>/codec)
// encrypt and decrypt payloads.
const (
	codecEncodePath = "/codec/encode"
	codecDecodePath = "/codec/decode"
)

// codecMaxBodyBytes bounds a codec body: Temporal refuses payloads over 2 MB by default,
// and JSON carries their bytes in base64, a third larger.
const codecMaxBodyBytes = 4 << 20

// Who may use the codec. Auditors read histories, so they may decrypt, but only staff may
// encrypt, which the UI does to send signals and updates.
var (
	codecDecoders = []auth.Role{auth.RoleAnalyst, auth.RoleAdmin, auth.RoleAuditor}
	codecEncoders = staffRoles
)

// codecAllowHeaders are the headers the Web UI sends to a codec endpoint.
const codecAllowHeaders = "Content-Type, Authorization, X-Namespace"

var errCodecTooLarge = fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d MB", codecMaxBodyBytes>>20))

func (s *Server) codecRoutes() {
	serve := s.serveCodec(converter.NewPayloadCodecHTTPHandler(s.opts.PayloadCodec))
	s.echo.POST(codecEncodePath, serve, s.codecCORS, s.requireCodecRole("only an analyst or admin may encode payloads", codecEncoders...))
	s.echo.POST(codecDecodePath, serve, s.codecCORS, s.requireCodecRole("only an analyst, admin or auditor may decode payloads", codecDecoders...))
	s.echo.OPTIONS(codecEncodePath, codecPreflight, s.codecCORS)
	s.echo.OPTIONS(codecDecodePath, codecPreflight, s.codecCORS)
}

// requireCodecRole is requireRole, except for the dev Web UI (see fromTrustedDevUI).
func (s *Server) requireCodecRole(refusal string, allowed ...auth.Role) echo.MiddlewareFunc {
	withToken := s.requireRole(refusal, allowed...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := withToken(next)
		return func(c echo.Context) error {
			if s.fromTrustedDevUI(c) {
				return next(c)
			}
			return checked(c)
		}
	}
}

// fromTrustedDevUI reports whether a request comes from the Web UI that `dsr dev` embeds:
// its Origin is CodecTrustedOrigin and it arrives over loopback. That UI has no login, so
// it cannot send a token. A browser does not let a page forge Origin, and loopback keeps
// other machines out; the address is the connection's, never a forwarding header.
func (s *Server) fromTrustedDevUI(c echo.Context) bool {
	req := c.Request()
	if s.opts.CodecTrustedOrigin == "" || req.Header.Get(echo.HeaderOrigin) != s.opts.CodecTrustedOrigin {
		return false
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// codecCORS lets the browser hand codec answers, refusals included, to the Web UI's
// origins. Origins match exactly; credentials are allowed for UIs that send cookies.
func (s *Server) codecCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Add(echo.HeaderVary, echo.HeaderOrigin)
		origin := c.Request().Header.Get(echo.HeaderOrigin)
		if origin != "" && (slices.Contains(s.opts.CodecOrigins, origin) || origin == s.opts.CodecTrustedOrigin) {
			h.Set(echo.HeaderAccessControlAllowOrigin, origin)
			h.Set(echo.HeaderAccessControlAllowCredentials, "true")
		}
		return next(c)
	}
}

// codecPreflight answers a browser's OPTIONS request. An origin codecCORS did not allow
// gets no CORS headers, and the browser then refuses to send the request.
func codecPreflight(c echo.Context) error {
	h := c.Response().Header()
	if h.Get(echo.HeaderAccessControlAllowOrigin) != "" {
		h.Set(echo.HeaderAccessControlAllowMethods, http.MethodPost)
		h.Set(echo.HeaderAccessControlAllowHeaders, codecAllowHeaders)
		h.Set(echo.HeaderAccessControlMaxAge, "600")
	}
	return c.NoContent(http.StatusNoContent)
}

// serveCodec runs Temporal's codec handler on a body it has read and checked. The handler
// answers a failure with its error text, which may quote the body, so a failure is
// answered in dsr's error shape instead.
func (s *Server) serveCodec(codecHandler http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		switch {
		case req.ContentLength > codecMaxBodyBytes:
			return errCodecTooLarge
		case !hasMediaType(c, echo.MIMEApplicationJSON):
			return fail(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
		raw, err := io.ReadAll(io.LimitReader(req.Body, codecMaxBodyBytes+1))
		switch {
		case err != nil:
			return readError(err)
		case len(raw) > codecMaxBodyBytes:
			return errCodecTooLarge
		}
		if err := protojson.Unmarshal(raw, &commonpb.Payloads{}); err != nil {
			return fail(http.StatusBadRequest, `the body is not a JSON object of "payloads"`)
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		var out codecAnswer
		codecHandler.ServeHTTP(&out, req)
		if out.status != http.StatusOK {
			// With the body checked above, what remains is the codec's own error, such as
			// a key missing from the ring; it names keys, never payload contents.
			return &apiError{status: http.StatusBadRequest, code: codeOf(http.StatusBadRequest),
				message: "a payload could not be encrypted or decrypted with dsr's keys",
				cause:   errors.New(strings.TrimSpace(out.body.String()))}
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, out.body.Bytes())
	}
}

// codecAnswer holds what the codec handler writes, so that a failure can be rewritten.
type codecAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *codecAnswer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}

func (a *codecAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *codecAnswer) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(p)
}
