package api

import (
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/requests"
)

// IntakeForm is the body of POST /api/v1/requests and POST /api/v1/admin/requests.
type IntakeForm = requests.IntakeForm

// IntakeAnswer is the 202 answer to an intake.
type IntakeAnswer = requests.Opened

// intakePath takes requests. Its bodies may carry an agent's permission file, so it bounds
// them itself, at MaxIntakeBytes.
const intakePath = "/api/v1/requests"

// MaxIntakeBytes bounds an intake's body: a permission file of the largest size, base64
// in JSON or a part of a form, with room for the rest.
const MaxIntakeBytes = requests.MaxPermissionBytes*4/3 + MaxBodyBytes

func (s *Server) intake(c echo.Context) error {
	if err := s.limitIntakeByIP(c); err != nil {
		return err
	}
	body := &countedBody{ReadCloser: http.MaxBytesReader(c.Response(), c.Request().Body, MaxIntakeBytes)}
	c.Request().Body = body
	in, err := s.readIntake(c, false)
	if err != nil {
		return err
	}
	if err := s.limitIntakeByAddress(in); err != nil {
		return err
	}
	o := requests.Opening{GPC: c.Request().Header.Get(headerGPC) == "1"}
	if key, sent := c.Request().Header[headerIdempotencyKey]; sent {
		if err := checkIdempotencyKey(key); err != nil {
			return err
		}
		o.IdempotencyKey, o.Keyed = key[0], true
	}
	answer, replayed, err := s.svc.Open(c.Request().Context(), in, o)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(headerReplayed, "true")
	}
	return c.JSON(http.StatusAccepted, answer)
}

// countedBody counts the bytes read from a request's body.
type countedBody struct {
	io.ReadCloser
	n int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// limitBody bounds the request's body at n bytes; reading past that fails as too large.
func limitBody(c echo.Context, n int64) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, n)
}

// headerGPC carries a browser's Global Privacy Control signal; "1" means do not sell or
// share, a valid opt-out under CCPA §7025.
const headerGPC = "Sec-GPC"

// readIntake decodes and validates an intake. Staff may open every type; the public may not
// open staff-only types (403).
func (s *Server) readIntake(c echo.Context, byStaff bool) (requests.Intake, error) {
	var form IntakeForm
	var fields map[string]string
	var err error
	switch {
	case hasMediaType(c, echo.MIMEApplicationForm):
		form, fields, err = decodeIntakeForm(c)
	default:
		err = decodeJSON(c, &form, false)
	}
	if err != nil {
		return requests.Intake{}, err
	}
	// Only an agent's file earns a body larger than any other.
	if body, ok := c.Request().Body.(*countedBody); ok && form.Agent == nil && body.n > MaxBodyBytes {
		return requests.Intake{}, errTooLarge
	}
	return s.svc.ValidateIntake(form, fields, byStaff)
}

// intakeFormFields are the names a web form may post; a dashboard form signed in by cookie
// adds its CSRF token, which requireRole has checked.
var intakeFormFields = map[string]bool{"type": true, "email": true, "jurisdiction": true, "details": true, "language": true, csrfField: true}

// decodeIntakeForm reads a urlencoded form. A details field that is not JSON becomes a field
// error, so the form can show it beside its input.
func decodeIntakeForm(c echo.Context) (IntakeForm, map[string]string, error) {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return IntakeForm{}, nil, readError(err)
	}
	for name := range r.PostForm {
		if !intakeFormFields[name] {
			return IntakeForm{}, nil, fail(http.StatusBadRequest, "the form has a field this endpoint does not take")
		}
	}
	form := IntakeForm{
		Type:         r.PostForm.Get("type"),
		Email:        r.PostForm.Get("email"),
		Jurisdiction: r.PostForm.Get("jurisdiction"),
		Language:     r.PostForm.Get("language"),
	}
	fields := map[string]string{}
	if raw := strings.TrimSpace(r.PostForm.Get("details")); raw != "" {
		if err := strictUnmarshal([]byte(raw), &form.Details); err != nil {
			fields["details"] = "is not a valid description of the request"
		}
	}
	return form, fields, nil
}
