package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// ctxRequest is where the auth middleware leaves the request row it authorised.
const ctxRequest = "dsr.request"

func currentRequest(c echo.Context) *requestdb.Request {
	return c.Get(ctxRequest).(*requestdb.Request)
}

// bearerToken returns the token of an "Authorization: Bearer" header, or "".
func bearerToken(c echo.Context) string {
	scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// requireStatusToken admits the holder of the request's status token. An unknown request
// and a wrong token get the same 401, so the answer does not reveal which IDs exist.
func (s *Server) requireStatusToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		row, err := s.requestForToken(c.Request().Context(), c.Param("id"), bearerToken(c))
		if err != nil {
			return err
		}
		c.Set(ctxRequest, row)
		return next(c)
	}
}

var errNoStatusToken = fail(http.StatusUnauthorized, "a valid status token for this request is required")

func (s *Server) requestForToken(ctx context.Context, id, token string) (*requestdb.Request, error) {
	if token == "" {
		return nil, errNoStatusToken
	}
	var row *requestdb.Request
	if _, err := uuid.Parse(id); err == nil {
		found, err := s.opts.Requests.GetRequest(ctx, id)
		switch {
		case err == nil:
			row = found
		case !errors.Is(err, requestdb.ErrNotFound):
			return nil, unavailable(err)
		}
	}
	// Hash and compare even for an unknown request, so its answer takes as long.
	stored := ""
	if row != nil {
		stored = row.StatusTokenHash
	}
	match := subtle.ConstantTimeCompare([]byte(keys.HashToken(token)), []byte(stored)) == 1
	if row == nil || stored == "" || !match {
		return nil, errNoStatusToken
	}
	return row, nil
}

// VerifyBody is the body of POST /api/v1/requests/{id}/verify.
type VerifyBody struct {
	Code string `json:"code"`
}

// VerifyAnswer says what became of a code.
type VerifyAnswer struct {
	Result       domain.CheckResult `json:"result"`
	AttemptsLeft int                `json:"attempts_left"`
}

func (s *Server) verifyEmail(c echo.Context) error {
	var body VerifyBody
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	out, err := s.svc.VerifyEmail(c.Request().Context(), currentRequest(c).ID, body.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, VerifyAnswer{Result: out.Result, AttemptsLeft: out.AttemptsLeft})
}

// ResendAnswer says when the new code expires.
type ResendAnswer struct {
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) resendCode(c echo.Context) error {
	var body struct{}
	if err := decodeJSON(c, &body, true); err != nil {
		return err
	}
	out, err := s.svc.ResendCode(c.Request().Context(), currentRequest(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ResendAnswer{ExpiresAt: out.ExpiresAt})
}

// IdentityBody is the body of POST /api/v1/requests/{id}/identity: data points such as
// postal_code, phone_last4 or order_number.
type IdentityBody struct {
	Answers map[string]string `json:"answers"`
}

// IdentityAnswer says whether the data points verified the requester.
type IdentityAnswer struct {
	Verified     bool `json:"verified"`
	AttemptsLeft int  `json:"attempts_left"`
}

func (s *Server) submitIdentity(c echo.Context) error {
	var body IdentityBody
	if err := decodeJSON(c, &body, false); err != nil {
		return err
	}
	out, err := s.svc.SubmitIdentity(c.Request().Context(), currentRequest(c).ID, body.Answers)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, IdentityAnswer{Verified: out.Verified, AttemptsLeft: out.AttemptsLeft})
}

// RequesterView is what a requester sees of their request, read from the database.
type RequesterView = requests.StatusView

func (s *Server) requesterStatus(c echo.Context) error {
	view, err := s.svc.Status(c.Request().Context(), currentRequest(c), s.pageLocalizer(c).Code())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}
