package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// ErrorBody is the one shape of every error answer. Messages and field messages are written
// by dsr and never repeat what was submitted, since that may be personal data.
type ErrorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

// apiError is an answer other than success. Handlers return it; handleError writes it and
// logs the cause, which never reaches the client.
type apiError struct {
	status  int
	message string
	fields  map[string]string
	cause   error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.message, e.cause)
	}
	return fmt.Sprintf("%d %s", e.status, e.message)
}

func (e *apiError) Unwrap() error { return e.cause }

func fail(status int, message string) *apiError {
	return &apiError{status: status, message: message}
}

func invalidFields(fields map[string]string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, message: "the request has invalid fields", fields: fields}
}

// internalError hides err from the client and logs it.
func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, message: "internal error", cause: err}
}

// unavailable answers 503 for a dependency that is down, so that clients retry later.
func unavailable(err error) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, message: "the service is temporarily unavailable; try again shortly", cause: err}
}

var errTooLarge = fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d KB", MaxBodyBytes>>10))

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		ae = fail(he.Code, strings.ToLower(http.StatusText(he.Code)))
		if he.Code == http.StatusRequestEntityTooLarge {
			ae = errTooLarge
		}
	default:
		ae = internalError(err)
	}
	if ae.cause != nil || ae.status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "status", ae.status, "error", err)
	}
	if ae.status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	if ae.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsr"`)
	}
	body := ErrorBody{Error: ae.message, Fields: ae.fields}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(ae.status)
	} else {
		err = c.JSON(ae.status, body)
	}
	if err != nil {
		s.log.Error("write error answer", "error", err)
	}
}

// decodeJSON reads the body into dst strictly: JSON only, no unknown fields, one value.
// An empty body leaves dst as it is when emptyOK, for actions whose fields are optional.
func decodeJSON(c echo.Context, dst any, emptyOK bool) error {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return readError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if emptyOK {
			return nil
		}
		return fail(http.StatusBadRequest, "the body is empty")
	}
	if !hasMediaType(c, echo.MIMEApplicationJSON) {
		return fail(http.StatusUnsupportedMediaType, "send the body as application/json")
	}
	return strictUnmarshal(raw, dst)
}

// strictUnmarshal decodes one JSON value with no unknown fields. Its errors name no value
// and no field the client invented.
func strictUnmarshal(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "" && !strings.HasPrefix(typeErr.Field, "answers"):
		return &apiError{status: http.StatusBadRequest, message: "a field has the wrong type",
			fields: map[string]string{typeErr.Field: "has the wrong type"}}
	case errors.As(err, &typeErr):
		return fail(http.StatusBadRequest, "a field has the wrong type")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fail(http.StatusBadRequest, "the body has a field this endpoint does not take")
	}
	return fail(http.StatusBadRequest, "the body is not valid JSON")
}

func readError(err error) error {
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return errTooLarge
	}
	return fail(http.StatusBadRequest, "the body could not be read")
}

func hasMediaType(c echo.Context, want string) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && mt == want
}
