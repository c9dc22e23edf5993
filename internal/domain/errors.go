package domain

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode says what kind of failure an error is, so that each front (HTTP, pages, CLI)
// can answer it in its own terms from one place.
type ErrorCode string

// The codes every operation of the product may fail with.
const (
	CodeInvalid      ErrorCode = "invalid"
	CodeNotFound     ErrorCode = "not_found"
	CodeConflict     ErrorCode = "conflict"
	CodeUnauthorized ErrorCode = "unauthorized"
	CodeForbidden    ErrorCode = "forbidden"
	CodeUnavailable  ErrorCode = "unavailable"
	CodeInternal     ErrorCode = "internal"
)

// Error is a failure the product explains. Message is written for people and, like Fields,
// never repeats what was submitted, which may be personal data; Err is the cause, for the
// log only.
type Error struct {
	Code ErrorCode
	// Reason is a more precise, stable code for programs, such as "request_closed"; empty
	// means Code says enough.
	Reason string
	// Kind says in one word why a refusal was made, for pages that say it in the reader's
	// language; empty when only Message says.
	Kind    string
	Message string
	// Fields maps each invalid input to its problem.
	Fields map[string]string
	// Validation is the intake's own account of its problems, when that is what failed.
	Validation *ValidationError
	// RetryAfter is how soon trying again may succeed; zero means the front's default.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with a message for people.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Refusal is a conflict with a precise reason, such as a closed request.
func Refusal(reason, message string) *Error {
	return &Error{Code: CodeConflict, Reason: reason, Message: message}
}

// InvalidFields reports every invalid input at once.
func InvalidFields(fields map[string]string) *Error {
	return &Error{Code: CodeInvalid, Message: "the request has invalid fields", Fields: fields}
}

// Unavailable wraps the failure of a dependency that is down, so that callers retry later.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "the service is temporarily unavailable; try again shortly", Err: err}
}

// Internal wraps a failure that is dsr's own fault; its cause is only logged.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// AsError returns err as an *Error; an error of any other kind is internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var v *ValidationError
	if errors.As(err, &v) {
		out := InvalidFields(v.Fields)
		out.Validation = v
		return out
	}
	return Internal(err)
}

// ErrorCodeOf returns the code of err, CodeInternal for an error that has none.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
