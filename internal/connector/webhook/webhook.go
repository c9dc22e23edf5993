// Package webhook is the connector of http stores: services dsr does not reach by SQL,
// which answer the signed webhook protocol described in PROTOCOL.md. dsr posts each
// operation, signed with the store's key; the service answers with its result at once
// (200) or later by a signed callback (202). The package holds both sides of the
// protocol, so that dsr's callback endpoint and any receiver written in Go sign and
// verify in exactly one way.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// DefaultTimeout bounds one attempt when Config.Timeout is not set. A service that needs
// longer answers 202 and calls back.
const DefaultTimeout = 30 * time.Second

// MaxBodyBytes bounds an answer or a callback; a review's export counts against it.
const MaxBodyBytes = 10 << 20

// ErrTooLarge marks an answer or callback body larger than MaxBodyBytes.
var ErrTooLarge = errors.New("body is larger than 10 MB")

// Pending is returned by Apply when the service accepted the operation and will post its
// result to the callback URL. It is not a failure: the workflow waits for the callback
// (see ParseCallback) instead of retrying.
type Pending struct {
	Store          string
	RequestID      string
	Operation      domain.RequestType
	IdempotencyKey string
}

// Is makes a Pending match connector.ErrPending, so callers need not know the connector.
func (p *Pending) Is(target error) bool { return target == connector.ErrPending }

func (p *Pending) Error() string {
	return fmt.Sprintf("store %s accepted %s of request %s; its result follows by callback", p.Store, p.Operation, p.RequestID)
}

// Config says how to reach one service.
type Config struct {
	URL    string
	KeyID  string
	Secret []byte
	// Client sends the requests; nil means a client of the connector's own. Either way
	// redirects are not followed, since they would carry the person's data elsewhere.
	Client *http.Client
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// CallbackURL returns where the service may post a request's result later. Nil means
	// synchronous only: requests carry no callback_url and a 202 is a permanent failure.
	CallbackURL func(requestID string) string
}

// Connector runs operations against one http store.
type Connector struct {
	name   string
	cfg    Config
	client *http.Client
}

var _ connector.Connector = (*Connector)(nil)

// New returns the connector of the store called name. A configuration without URL, key
// ID or secret makes every Apply fail with connector.ErrPermanent.
func New(name string, cfg Config) *Connector {
	client := &http.Client{}
	if cfg.Client != nil {
		copied := *cfg.Client
		client = &copied
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	return &Connector{name: name, cfg: cfg, client: client}
}

// Name is the store's name in the data map.
func (c *Connector) Name() string { return c.name }

// Capabilities: a plan. The protocol (PROTOCOL.md) has no identity check and no purge: a
// service erases what it kept under its own retention rules.
func (c *Connector) Capabilities() connector.Capabilities { return connector.Capabilities{Planner: c} }

// Plan asks the service what the operation would change (PROTOCOL.md, section 6). A
// service that answers that it cannot plan, or refuses the plan operation with 400, 404,
// 422 or 501 as services written before it do, gets a plan that says it cannot plan.
// Other failures read as Apply's do.
func (c *Connector) Plan(ctx context.Context, op connector.Operation) (connector.ChangePlan, error) {
	p, err := c.plan(ctx, op)
	if err != nil {
		return connector.ChangePlan{}, fmt.Errorf("store %s plan %s: %w", c.name, op.Type, err)
	}
	return p, nil
}

func (c *Connector) plan(ctx context.Context, op connector.Operation) (connector.ChangePlan, error) {
	req, err := c.request(op)
	if err != nil {
		return connector.ChangePlan{}, err
	}
	req.Operation, req.PlanOf, req.CallbackURL = PlanOperation, op.Type, ""
	req.IdempotencyKey = IdempotencyKey(op.RequestID, PlanOperation, c.name)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.post(ctx, req)
	if err != nil {
		return connector.ChangePlan{}, err
	}
	defer resp.Body.Close()
	// A refusal of the plan is no refusal of the change: a service built before the plan
	// operation may answer it with any 4xx (a strict receiver, 401), and its apply is not
	// held to a plan anyway. Only a failure worth retrying (5xx, 408, 429) is an error.
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusNotImplemented || code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		drain(resp.Body)
		return connector.ChangePlan{Store: c.name, CannotPlan: fmt.Sprintf("%s (it answered %d)", cannotPlan, code)}, nil
	default:
		drain(resp.Body)
		return connector.ChangePlan{}, statusError(code)
	}
	body, err := readBody(resp.Body, resp.ContentLength)
	switch {
	case errors.Is(err, ErrTooLarge):
		return connector.ChangePlan{}, fmt.Errorf("answer: %w: %w", err, connector.ErrPermanent)
	case err != nil:
		return connector.ChangePlan{}, fmt.Errorf("read answer: %w", c.transportError(ctx, err))
	}
	a, err := decodeAnswer(body)
	if err == nil {
		var p connector.ChangePlan
		if p, err = a.plan(c.name); err == nil {
			return p, nil
		}
	}
	return connector.ChangePlan{}, fmt.Errorf("service answered 200 outside the protocol: %w: %w", err, connector.ErrPermanent)
}

// KeyID is the ID of the key the store signs with, so that a callback endpoint can check
// that a callback naming this store was signed with its key.
func (c *Connector) KeyID() string { return c.cfg.KeyID }

// Apply posts the operation to the service and returns the result of a 200 answer. A 202
// answer returns a *Pending error. Failures that a retry will not cure wrap
// connector.ErrPermanent: the service refused the operation (a 4xx other than 408 and
// 429), answered outside the protocol, or the store is misconfigured. Invalid operations
// also wrap domain.ErrInvalid. A retry sends the same idempotency key, so a service that
// honours it changes nothing twice. No error quotes the service's answer, which may hold
// personal data; they give its status code only.
func (c *Connector) Apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	r, err := c.apply(ctx, op)
	var pending *Pending
	if err != nil && !errors.As(err, &pending) {
		err = fmt.Errorf("store %s %s: %w", c.name, op.Type, err)
	}
	return r, err
}

func (c *Connector) apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	req, err := c.request(op)
	if err != nil {
		return connector.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.post(ctx, req)
	if err != nil {
		return connector.Result{}, err
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return c.result(ctx, resp)
	case code == http.StatusAccepted:
		drain(resp.Body)
		if req.CallbackURL == "" {
			return connector.Result{}, fmt.Errorf("service answered 202 but the store has no callback URL: %w", connector.ErrPermanent)
		}
		return connector.Result{}, &Pending{Store: c.name, RequestID: req.RequestID, Operation: req.Operation, IdempotencyKey: req.IdempotencyKey}
	default:
		drain(resp.Body)
		return connector.Result{}, statusError(code)
	}
}

// request builds the body of an operation, or says why it cannot be sent.
func (c *Connector) request(op connector.Operation) (Request, error) {
	email, emailErr := domain.NormalizeEmail(op.Email)
	switch {
	case c.cfg.URL == "" || c.cfg.KeyID == "" || len(c.cfg.Secret) == 0:
		return Request{}, fmt.Errorf("store needs a URL, a key ID and a secret: %w", connector.ErrPermanent)
	case op.RequestID == "" || emailErr != nil:
		return Request{}, fmt.Errorf("a request ID and a valid e-mail address are required: %w: %w", domain.ErrInvalid, connector.ErrPermanent)
	case strings.Contains(op.RequestID, ":"):
		return Request{}, fmt.Errorf("request ID contains a colon: %w: %w", domain.ErrInvalid, connector.ErrPermanent)
	}
	if _, err := domain.ParseRequestType(string(op.Type)); err != nil {
		return Request{}, fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	req := Request{RequestID: op.RequestID, Operation: op.Type, Email: email, Details: op.Details,
		IdempotencyKey: IdempotencyKey(op.RequestID, op.Type, c.name)}
	if c.cfg.CallbackURL != nil {
		req.CallbackURL = c.cfg.CallbackURL(op.RequestID)
	}
	return req, nil
}

// post signs and sends the request. Its errors are retryable unless the request cannot be
// built: the service may not have seen it.
func (c *Connector) post(ctx context.Context, req Request) (*http.Response, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, body)
}

// send signs and posts a JSON body to the service's URL.
func (c *Connector) send(ctx context.Context, body []byte) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w: %w", err, connector.ErrPermanent)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	SignHeader(hr.Header, c.cfg.KeyID, c.cfg.Secret, body, time.Now())
	resp, err := c.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("post: %w", c.transportError(ctx, err))
	}
	return resp, nil
}

// result reads a 200 answer. An answer that breaks the protocol is permanent: the service
// needs fixing before a retry can help.
func (c *Connector) result(ctx context.Context, resp *http.Response) (connector.Result, error) {
	body, err := readBody(resp.Body, resp.ContentLength)
	switch {
	case errors.Is(err, ErrTooLarge):
		return connector.Result{}, fmt.Errorf("answer: %w: %w", err, connector.ErrPermanent)
	case err != nil:
		return connector.Result{}, fmt.Errorf("read answer: %w", c.transportError(ctx, err))
	}
	a, err := decodeAnswer(body)
	if err == nil {
		var r connector.Result
		if r, err = a.result(c.name); err == nil {
			return r, nil
		}
	}
	return connector.Result{}, fmt.Errorf("service answered 200 outside the protocol: %w: %w", err, connector.ErrPermanent)
}

// statusError says what a status code other than 200 and 202 means for a retry.
func statusError(code int) error {
	msg := fmt.Sprintf("service answered %d %s", code, http.StatusText(code))
	switch {
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return errors.New(msg)
	case code >= 300 && code < 400:
		return fmt.Errorf("%s; redirects are not followed: %w", msg, connector.ErrPermanent)
	}
	return fmt.Errorf("%s: %w", msg, connector.ErrPermanent)
}

// transportError keeps the errors of the network, TLS and the context, whose messages
// name addresses and causes, and replaces the others: Go's HTTP client quotes a malformed
// answer in its error, and that answer may hold personal data.
func (c *Connector) transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer in time (timeout %s): %w", c.cfg.Timeout, context.DeadlineExceeded)
	}
	var (
		op        *net.OpError
		record    tls.RecordHeaderError
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &op), errors.As(err, &record), errors.As(err, &verify),
		errors.As(err, &authority), errors.As(err, &hostname), errors.As(err, &invalid):
		return unwrapURL(err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the connection closed before a full answer")
	}
	return errors.New("the connection failed or the answer was not valid HTTP")
}

// unwrapURL drops the method and URL net/http puts before an error; Apply names the store.
func unwrapURL(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

func jsonBody(req any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w: %w", err, connector.ErrPermanent)
	}
	return body, nil
}

// drain reads a little of an unwanted body so that the connection can be reused.
func drain(r io.Reader) {
	// A failed read only costs the connection, which the transport then closes.
	io.Copy(io.Discard, io.LimitReader(r, 64<<10))
}
