package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// Callback is a service's late result for an operation it answered with 202.
type Callback struct {
	RequestID string
	// Store and Operation come from the idempotency key the service echoes. KeyID is the
	// key that signed the callback: check that it is the store's key (Connector.KeyID)
	// before acting, since any configured key passes ParseCallback.
	Store     string
	Operation domain.RequestType
	KeyID     string
	Result    connector.Result
}

// ParseCallback reads and verifies a callback posted to dsr: keys returns the secret of a
// key ID. It reads at most MaxBodyBytes. Errors wrap ErrSignature (unknown key, bad or
// stale signature: answer 401), ErrTooLarge (answer 413) or domain.ErrInvalid (a body
// outside the protocol: answer 400), and quote nothing of the body.
func ParseCallback(r *http.Request, keys func(keyID string) ([]byte, bool), now time.Time) (Callback, error) {
	keyID, body, err := readSigned(r, keys, now)
	if err != nil {
		return Callback{}, fmt.Errorf("callback: %w", err)
	}
	a, err := decodeAnswer(body)
	if err != nil {
		return Callback{}, fmt.Errorf("callback: %w", err)
	}
	requestID, op, store, ok := parseIdempotencyKey(a.IdempotencyKey)
	if !ok || a.RequestID != requestID {
		return Callback{}, fmt.Errorf("callback: idempotency_key is not one dsr sent for request_id: %w", domain.ErrInvalid)
	}
	result, err := a.result(store)
	if err != nil {
		return Callback{}, fmt.Errorf("callback: %w", err)
	}
	return Callback{RequestID: requestID, Store: store, Operation: op, KeyID: keyID, Result: result}, nil
}

// ErrCannotPlan is what ParseRequest returns, wrapped, for a plan request (PROTOCOL.md
// section 6): a service that reads requests with it does not plan, and RefusalStatus
// answers 501, which dsr records as "cannot plan".
var ErrCannotPlan = errors.New("this service does not plan changes")

// ParseRequest reads and verifies a request posted by dsr, for a service written in Go:
// keys returns the secret of a key ID. Errors wrap the same sentinels as ParseCallback's.
// The service must still dedupe on Request.IdempotencyKey. It refuses a plan request with
// ErrCannotPlan, so that a service that only applies never mistakes a plan for a change;
// a service that plans reads requests with ParseRequestOrPlan.
func ParseRequest(r *http.Request, keys func(keyID string) ([]byte, bool), now time.Time) (Request, error) {
	req, err := ParseRequestOrPlan(r, keys, now)
	if err == nil && req.Operation == PlanOperation {
		return Request{}, fmt.Errorf("request: %w", ErrCannotPlan)
	}
	return req, err
}

// ParseRequestOrPlan is ParseRequest for a service that also plans: a plan request comes
// back with Operation PlanOperation and the operation to plan in PlanOf.
func ParseRequestOrPlan(r *http.Request, keys func(keyID string) ([]byte, bool), now time.Time) (Request, error) {
	_, body, err := readSigned(r, keys, now)
	if err != nil {
		return Request{}, fmt.Errorf("request: %w", err)
	}
	// The operation is read as text: "plan" is an operation of the protocol, not a type of
	// request, and a request type refuses it.
	var wire struct {
		Request
		Operation string `json:"operation"`
		PlanOf    string `json:"plan_of"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return Request{}, fmt.Errorf("request: %w: %w", jsonError(err), domain.ErrInvalid)
	}
	req := wire.Request
	switch {
	case req.RequestID == "" || req.Email == "" || req.IdempotencyKey == "":
		return Request{}, fmt.Errorf("request: request_id, email and idempotency_key are required: %w", domain.ErrInvalid)
	case wire.Operation == "":
		return Request{}, fmt.Errorf("request: operation is required: %w", domain.ErrInvalid)
	}
	planned := wire.Operation
	if wire.Operation == string(PlanOperation) {
		planned = wire.PlanOf
	}
	t, err := domain.ParseRequestType(planned)
	if err != nil {
		return Request{}, fmt.Errorf("request: operation is not a known request type: %w", domain.ErrInvalid)
	}
	req.Operation = t
	if wire.Operation == string(PlanOperation) {
		req.Operation, req.PlanOf = PlanOperation, t
	}
	return req, nil
}

// RefusalStatus is the HTTP status a service answers a message that ParseRequest or
// ParseCallback refused with: 401 for a signature that does not check out, 413 for a body
// too large, 501 for a plan the service does not make, 400 for one outside the protocol.
func RefusalStatus(err error) int {
	switch {
	case errors.Is(err, ErrSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrCannotPlan):
		return http.StatusNotImplemented
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// CallbackKeys returns the key lookup of ParseCallback for the given stores.
func CallbackKeys(conns ...*Connector) func(keyID string) ([]byte, bool) {
	keys := map[string][]byte{}
	for _, c := range conns {
		if _, seen := keys[c.cfg.KeyID]; !seen && c.cfg.KeyID != "" {
			keys[c.cfg.KeyID] = c.cfg.Secret
		}
	}
	return func(keyID string) ([]byte, bool) {
		secret, ok := keys[keyID]
		return secret, ok
	}
}

// readSigned reads a signed body. It looks the key up before reading, so that a stranger
// cannot make the endpoint read 10 MB.
func readSigned(r *http.Request, keys func(keyID string) ([]byte, bool), now time.Time) (keyID string, body []byte, err error) {
	keyID = r.Header.Get(HeaderKeyID)
	if keyID == "" {
		return "", nil, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderKeyID)
	}
	secret, ok := keys(keyID)
	if !ok || len(secret) == 0 {
		return "", nil, fmt.Errorf("%w: unknown key ID", ErrSignature)
	}
	if body, err = readBody(r.Body, r.ContentLength); err != nil {
		return "", nil, err
	}
	if err := Verify(secret, r.Header, body, now, DefaultWindow); err != nil {
		return "", nil, err
	}
	return keyID, body, nil
}

// readBody reads at most MaxBodyBytes.
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength > MaxBodyBytes {
		return nil, ErrTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	switch {
	case err != nil:
		return nil, err
	case len(body) > MaxBodyBytes:
		return nil, ErrTooLarge
	}
	return body, nil
}
