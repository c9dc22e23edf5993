package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
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
	var out workflows.VerifyEmailResult
	err := s.update(c.Request().Context(), currentRequest(c).ID, workflows.UpdateVerifyEmail, &out, workflows.VerifyEmailInput{Code: strings.TrimSpace(body.Code)})
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
	var out workflows.ResendCodeResult
	if err := s.update(c.Request().Context(), currentRequest(c).ID, workflows.UpdateResendCode, &out); err != nil {
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
	var out workflows.SubmitIdentityResult
	err := s.update(c.Request().Context(), currentRequest(c).ID, workflows.UpdateSubmitIdentity, &out, workflows.SubmitIdentityInput{Answers: body.Answers})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, IdentityAnswer{Verified: out.Verified, AttemptsLeft: out.AttemptsLeft})
}

// RequesterView is what a requester sees of their request: progress and outcome, never
// staff names, notes or other people's data.
type RequesterView struct {
	ID                   string             `json:"id"`
	Type                 domain.RequestType `json:"type"`
	Status               domain.Status      `json:"status"`
	StatusReason         string             `json:"status_reason,omitempty"`
	ReceivedAt           time.Time          `json:"received_at"`
	DueDate              time.Time          `json:"due_date"`
	Extended             bool               `json:"extended"`
	ExtensionReason      string             `json:"extension_reason,omitempty"`
	EmailVerified        bool               `json:"email_verified"`
	CodeAttemptsLeft     int                `json:"code_attempts_left"`
	IdentityRequirement  string             `json:"identity_requirement"`
	IdentityVerified     bool               `json:"identity_verified"`
	IdentityAttemptsLeft int                `json:"identity_attempts_left"`
	Steps                []RequesterStep    `json:"steps"`
	Stores               StoreCounts        `json:"stores"`
	Outcome              OutcomeSummary     `json:"outcome"`
	JoinedTo             string             `json:"joined_to,omitempty"`
	// Recipients are the organisations the change was passed on to, and with what result.
	Recipients []RecipientSummary `json:"recipients"`
}

// RequesterStep is one step of the timeline, without who took it.
type RequesterStep struct {
	Action string        `json:"action"`
	At     time.Time     `json:"at"`
	Status domain.Status `json:"status"`
}

// StoreCounts says how far the request has got through the company's systems.
type StoreCounts struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// OutcomeSummary is what the systems found, changed and had to keep.
type OutcomeSummary struct {
	Found    []string          `json:"found"`
	Changed  []string          `json:"changed"`
	Retained []RetainedSummary `json:"retained"`
}

// RetainedSummary is data kept despite the request, with its legal ground and end date.
type RetainedSummary struct {
	What   string    `json:"what"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// RecipientSummary is one organisation that had received the person's data and was told.
type RecipientSummary struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// internalSteps are staff housekeeping that the requester's timeline leaves out.
var internalSteps = []string{"note_added", "assigned", "deadline_alert", "store_retry_requested"}

func requesterView(st workflows.RequestState) RequesterView {
	v := RequesterView{
		ID: st.RequestID, Type: st.Type, Status: st.Status, StatusReason: st.StatusReason,
		ReceivedAt: st.ReceivedAt, DueDate: st.DueAt, Extended: st.Extended, ExtensionReason: st.ExtensionReason,
		EmailVerified: st.EmailVerified, CodeAttemptsLeft: st.CodeAttemptsLeft,
		IdentityRequirement: st.IdentityRequirement, IdentityVerified: st.IdentityVerified,
		IdentityAttemptsLeft: st.IdentityAttempts, JoinedTo: st.JoinedTo,
		Steps:      []RequesterStep{},
		Outcome:    OutcomeSummary{Found: []string{}, Changed: []string{}, Retained: []RetainedSummary{}},
		Recipients: []RecipientSummary{},
	}
	for _, r := range st.Recipients {
		v.Recipients = append(v.Recipients, RecipientSummary{Name: r.Name, Status: r.Status})
	}
	for _, step := range st.Steps {
		if !slices.Contains(internalSteps, step.Action) {
			v.Steps = append(v.Steps, RequesterStep{Action: step.Action, At: step.At, Status: step.Status})
		}
	}
	for _, o := range st.Stores {
		v.Stores.Total++
		switch {
		case o.Done:
			v.Stores.Done++
		case o.Error != "":
			v.Stores.Failed++
		}
		v.Outcome.Found = append(v.Outcome.Found, o.Result.Found...)
		v.Outcome.Changed = append(v.Outcome.Changed, o.Result.Changed...)
		for _, r := range o.Result.Retained {
			v.Outcome.Retained = append(v.Outcome.Retained, RetainedSummary{What: r.What, Reason: r.Reason, Until: r.Until})
		}
	}
	return v
}

func (s *Server) requesterStatus(c echo.Context) error {
	st, err := s.state(c.Request().Context(), currentRequest(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, requesterView(st))
}

// maskCardNumbers replaces every value of an export that looks like a payment card number
// with its last 4 digits. The stores already export no more than that; this is the last
// line of defence before the data leaves.
func maskCardNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskCardNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = maskCardNumbers(e)
		}
	case string:
		if digits, ok := cardDigits(x); ok {
			return "**** " + digits[len(digits)-4:]
		}
	case float64:
		if x == math.Trunc(x) && x > 0 && x < 1e19 {
			if digits, ok := cardDigits(strconv.FormatFloat(x, 'f', 0, 64)); ok {
				return "**** " + digits[len(digits)-4:]
			}
		}
	}
	return v
}

// cardDigits returns the digits of s when s is 13 to 19 digits, optionally grouped by
// spaces or dashes, that pass the Luhn check card numbers carry.
func cardDigits(s string) (string, bool) {
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9':
			digits = append(digits, b)
		case b == ' ' || b == '-':
		default:
			return "", false
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return "", false
	}
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(digits), sum%10 == 0
}
