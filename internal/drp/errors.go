package drp

import (
	"net/http"
	"strconv"

	"github.com/dsr-project/dsr/internal/domain"
)

// Error is a refused or failed call, answered with the error shape of section 3.06.
type Error struct {
	// Status is the HTTP status.
	Status  int
	Message string
	// Fatal says the request will not be processed if sent again (3.06).
	Fatal bool
	// NoBody answers the status alone, as a failed key setup must (2.05.1).
	NoBody bool
	// Err is the cause, for the log; never shown to the agent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorBody is the body of section 3.06.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fatal   bool   `json:"fatal,omitempty"`
}

// Body is the error's answer.
func (e *Error) Body() ErrorBody {
	return ErrorBody{Code: strconv.Itoa(e.Status), Message: e.Message, Fatal: e.Fatal}
}

func badRequest(message string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: message}
}

func forbiddenNoBody(why string) *Error {
	return &Error{Status: http.StatusForbidden, Message: why, NoBody: true}
}

func unavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Message: "the service is temporarily unavailable; try again shortly", Err: err}
}

// fromDomain answers an error of dsr's service layer in the protocol's shape; its message
// is written for people and carries no personal data.
func fromDomain(err error) *Error {
	de := domain.AsError(err)
	status := map[domain.ErrorCode]int{
		domain.CodeInvalid: http.StatusBadRequest, domain.CodeNotFound: http.StatusNotFound,
		domain.CodeConflict: http.StatusConflict, domain.CodeUnauthorized: http.StatusUnauthorized,
		domain.CodeForbidden: http.StatusForbidden, domain.CodeUnavailable: http.StatusServiceUnavailable,
	}[de.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return &Error{Status: status, Message: de.Message, Err: err}
}
