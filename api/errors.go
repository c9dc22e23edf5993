package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/drp"
)

// ErrorBody is the one shape of every error answer, 4xx and 5xx alike. Messages and field
// messages are written by dsr and never repeat what was submitted, since that may be
// personal data.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: Code is stable for programs, Message is for people, and
// Fields maps each invalid input (a JSON path, query parameter or header) to its problem.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// Error codes beyond the one each status implies (see statusCodes).
const (
	codeInvalid               = "invalid"
	codeIdempotencyKeyReused  = "idempotency_key_reused"
	codeIdempotencyInProgress = "idempotency_key_in_progress"
	codeRefused               = "refused"
	codeClosed                = "request_closed"
	codeNotCompleted          = "request_not_completed"
)

// statusCodes is the code of an error answer that names none of its own.
var statusCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   codeInvalid,
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

func codeOf(status int) string {
	if code, ok := statusCodes[status]; ok {
		return code
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

// apiError is an answer other than success. Handlers return it; handleError writes it and
// logs the cause, which never reaches the client.
type apiError struct {
	status  int
	code    string
	message string
	fields  map[string]string
	// kind is a refusal's domain.Error Kind, which pages put in the reader's words.
	kind  string
	cause error
	// retryAfter is the Retry-After header in seconds; 503 answers default to 5.
	retryAfter string
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.message, e.cause)
	}
	return fmt.Sprintf("%d %s", e.status, e.message)
}

func (e *apiError) Unwrap() error { return e.cause }

func fail(status int, message string) *apiError {
	return &apiError{status: status, code: codeOf(status), message: message}
}

// failCode is fail with a code more precise than the status's.
func failCode(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func invalidFields(fields map[string]string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: codeInvalid, message: "the request has invalid fields", fields: fields}
}

// badInput answers 400 for one malformed input, such as a header or query parameter.
func badInput(name, problem string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeOf(http.StatusBadRequest), message: "the request has a malformed input",
		fields: map[string]string{name: problem}}
}

// errUnknownParameter refuses a query parameter a route does not take, so that a typo cannot
// silently widen a list. It does not name the parameter: its name is input too.
var errUnknownParameter = fail(http.StatusBadRequest, "the query has a parameter this route does not take")

// internalError hides err from the client and logs it.
func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeOf(http.StatusInternalServerError), message: "internal error", cause: err}
}

// unavailable answers 503 for a dependency that is down, so that clients retry later.
func unavailable(err error) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: codeOf(http.StatusServiceUnavailable), message: "the service is temporarily unavailable; try again shortly", cause: err}
}

var errTooLarge = fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d KB", MaxBodyBytes>>10))

// domainStatus is the one place a product error's code becomes an HTTP status.
var domainStatus = map[domain.ErrorCode]int{
	domain.CodeInvalid:      http.StatusUnprocessableEntity,
	domain.CodeNotFound:     http.StatusNotFound,
	domain.CodeConflict:     http.StatusConflict,
	domain.CodeUnauthorized: http.StatusUnauthorized,
	domain.CodeForbidden:    http.StatusForbidden,
	domain.CodeUnavailable:  http.StatusServiceUnavailable,
	domain.CodeInternal:     http.StatusInternalServerError,
}

// asAPIError turns any error a handler returns into the answer it gets: the API's own
// errors as they are, the service's by their code, Echo's by their status, and anything
// else as an internal error whose cause is only logged.
func asAPIError(err error) *apiError {
	var ae *apiError
	var de *domain.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &de):
		status, ok := domainStatus[de.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		code := de.Reason
		if code == "" {
			code = codeOf(status)
		}
		out := &apiError{status: status, code: code, message: de.Message, fields: de.Fields, kind: de.Kind, cause: de.Err}
		if de.RetryAfter > 0 {
			out.retryAfter = strconv.Itoa(int(de.RetryAfter.Round(time.Second) / time.Second))
		}
		return out
	case errors.As(err, &he):
		if he.Code == http.StatusRequestEntityTooLarge {
			return errTooLarge
		}
		return fail(he.Code, strings.ToLower(http.StatusText(he.Code)))
	}
	return internalError(err)
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var drpErr *drp.Error
	if errors.As(err, &drpErr) {
		s.writeDRPError(c, drpErr)
		return
	}
	ae := asAPIError(err)
	if s.drp != nil && strings.HasPrefix(c.Request().URL.Path, drpPathPrefix) {
		// Agents read every failure under the protocol's paths in its own shape (3.06), a
		// body too large or a wrong method included.
		s.writeDRPError(c, &drp.Error{Status: ae.status, Message: ae.message, Err: ae.cause})
		return
	}
	if ae.cause != nil || ae.status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "status", ae.status, "error", err)
	}
	switch {
	case ae.retryAfter != "":
		c.Response().Header().Set("Retry-After", ae.retryAfter)
	case ae.status == http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", "5")
	}
	if ae.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsr"`)
	}
	fields := ae.fields
	if fields == nil {
		fields = map[string]string{}
	}
	body := ErrorBody{Error: ErrorDetail{Code: ae.code, Message: ae.message, Fields: fields}}
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
		return &apiError{status: http.StatusBadRequest, code: codeOf(http.StatusBadRequest), message: "a field has the wrong type",
			fields: map[string]string{typeErr.Field: "has the wrong type"}}
	case errors.As(err, &typeErr):
		return fail(http.StatusBadRequest, "a field has the wrong type")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &apiError{status: http.StatusBadRequest, code: codeOf(http.StatusBadRequest), message: "the body has a field this endpoint does not take",
			fields: map[string]string{unknownFieldName(err): "is not a field of this endpoint"}}
	}
	return fail(http.StatusBadRequest, "the body is not valid JSON")
}

func readError(err error) error {
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return errTooLarge
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d KB", tooLarge.Limit>>10))
	}
	return fail(http.StatusBadRequest, "the body could not be read")
}

func hasMediaType(c echo.Context, want string) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && mt == want
}

// unknownFieldName is the name the decoder reports when it is shaped like a field name
// (lower-case letters and underscores, as every field of the API is), and otherwise
// "body", so that the answer cannot carry arbitrary input back.
func unknownFieldName(err error) string {
	name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
	if uerr != nil || name == "" || len(name) > 64 || strings.TrimLeft(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "body"
	}
	return name
}
