package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/google/uuid"
)

// flow is one request of the load, driven from intake to its end through the APIs as the
// requester and an analyst would.
type flow struct {
	n        int
	typ      string
	person   person
	seeded   bool // the person's rows were there before the load started
	clientIP string

	id, token string // from the 202
	accepted  bool
	started   time.Time
	settled   time.Time
	status    string // where it ended: completed or a waiting status
	reason    string
	problem   error         // an invariant it broke, or why the driver could not finish it
	done      chan struct{} // closed when the flow has ended; the fields above are final then
}

func (f *flow) ended() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

var requestTypes = []string{"review", "correct", "update", "suppress", "restrict"}

// intakeBody is what the requester sends for each type of request.
func (f *flow) intakeBody() map[string]any {
	body := map[string]any{"type": f.typ, "email": f.person.email, "jurisdiction": "gdpr"}
	switch f.typ {
	case "correct", "update":
		body["details"] = map[string]any{"changes": []map[string]string{{"field": "name", "value": f.newName()}}}
	case "suppress":
		body["details"] = map[string]any{"scope": map[string]any{"all": true}}
	case "restrict":
		body["details"] = map[string]any{"limits": []string{"marketing_email", "affiliate_sharing"}}
	}
	return body
}

func (f *flow) newName() string { return fmt.Sprintf("Corrected %d", f.n) }

// apiError is an answer other than 2xx.
type apiError struct {
	code int
	body string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.body) }

func statusOf(err error) int {
	var a *apiError
	if errors.As(err, &a) {
		return a.code
	}
	return 0
}

// transient says whether an error is what a fault causes for a while: no answer at all, or
// the API saying the engine or database is busy or the workflow not there yet.
func transient(err error) bool {
	switch statusOf(err) {
	case 0, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusConflict, http.StatusInternalServerError:
		return true
	}
	return false
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call sends body as JSON from the flow's client address and decodes a 2xx answer into out.
// onSent, if given, runs once the request is on the wire.
func (f *flow) call(ctx context.Context, method, url, token string, headers map[string]string, body, out any, onSent func()) error {
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return err
		}
	}
	if onSent != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { onSent() }})
	}
	req, err := http.NewRequestWithContext(ctx, method, url, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", f.clientIP)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{code: resp.StatusCode, body: string(bytes.TrimSpace(raw))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// driver runs flows against a cluster.
type driver struct {
	c    *cluster
	mail *mailbox
	// flowTimeout bounds one flow from intake to its end, faults included.
	flowTimeout time.Duration
}

// intakeHook, when set on a flow's run, is called as the intake is on the wire to the first
// API tried; the API-kill fault uses it.
type intakeHook func(f *flow)

// run drives f to its end; f.problem says what went wrong, if anything.
func (d *driver) run(ctx context.Context, f *flow, hook intakeHook) {
	ctx, cancel := context.WithTimeout(ctx, d.flowTimeout)
	defer cancel()
	f.started = time.Now()
	if err := d.drive(ctx, f, hook); err != nil && f.problem == nil {
		f.problem = err
	}
	f.settled = time.Now()
}

func (d *driver) drive(ctx context.Context, f *flow, hook intakeHook) error {
	if !f.seeded {
		if err := retry(ctx, time.Second, func() error { return seed(ctx, d.c.stores, f.person) }); err != nil {
			return fmt.Errorf("seed the stores: %w", err)
		}
	}
	if err := d.intake(ctx, f, hook); err != nil {
		return err
	}
	code, err := d.mail.code(ctx, f.person.email)
	if err != nil {
		return fmt.Errorf("request %s: no code mailed: %w", f.id, err)
	}
	var verified struct{ Result string }
	err = d.retryCall(ctx, f, func(api string) error {
		return f.call(ctx, http.MethodPost, api+"/api/v1/requests/"+f.id+"/verify", f.token, nil, map[string]string{"code": code}, &verified, nil)
	})
	if err != nil {
		return fmt.Errorf("request %s: verify: %w", f.id, err)
	}
	if verified.Result != "confirmed" {
		return fmt.Errorf("request %s: the mailed code was %q", f.id, verified.Result)
	}
	return d.follow(ctx, f)
}

// intake opens the request with an idempotency key, trying the other API when one does not
// answer: a retry with the key opens nothing new.
func (d *driver) intake(ctx context.Context, f *flow, hook intakeHook) error {
	key := uuid.NewString()
	var answer struct {
		ID          string `json:"id"`
		StatusToken string `json:"status_token"`
	}
	try := 0
	err := retry(ctx, time.Second, func() error {
		api := d.c.apis[(f.n+try)%len(d.c.apis)]
		var onSent func()
		if try == 0 && hook != nil {
			onSent = func() { hook(f) }
		}
		try++
		err := f.call(ctx, http.MethodPost, api+"/api/v1/requests", "", map[string]string{"Idempotency-Key": key}, f.intakeBody(), &answer, onSent)
		if err != nil && !transient(err) {
			return permanent(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	f.id, f.token, f.accepted = answer.ID, answer.StatusToken, true
	return nil
}

// retryCall makes a call on one API and, while it fails for a reason a fault explains, on
// the other, in turn.
func (d *driver) retryCall(ctx context.Context, f *flow, call func(api string) error) error {
	try := 0
	return retry(ctx, time.Second, func() error {
		api := d.c.apis[(f.n+try)%len(d.c.apis)]
		try++
		err := call(api)
		if err != nil && !transient(err) {
			return permanent(err)
		}
		return err
	})
}

// staffRequest is the row staff see of a request.
type staffRequest struct {
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason"`
	EmailHash    string    `json:"email_hash"`
	UpdatedAt    time.Time `json:"updated_at"`
	failed       []string  // the stores that failed, from the view's store list
}

// staffView reads the request as staff see it. A request that needs attention because a
// store failed says why in that store's error, so that counts as its reason.
func (d *driver) staffView(ctx context.Context, f *flow) (staffRequest, error) {
	var view struct {
		Request staffRequest
		Stores  []struct{ Store, State, Error string }
	}
	err := d.retryCall(ctx, f, func(api string) error {
		return f.call(ctx, http.MethodGet, api+"/api/v1/admin/requests/"+f.id, d.c.token, nil, nil, &view, nil)
	})
	for _, s := range view.Stores {
		if s.State != "failed" {
			continue
		}
		view.Request.failed = append(view.Request.failed, s.Store)
		if view.Request.StatusReason == "" && s.Error != "" {
			view.Request.StatusReason = s.Store + ": " + s.Error
		}
	}
	return view.Request, err
}

// staffAction posts an analyst's action; a refusal (409) means the workflow is not there yet
// and the caller looks again.
func (d *driver) staffAction(ctx context.Context, f *flow, action string, body any) error {
	err := f.call(ctx, http.MethodPost, d.c.apis[f.n%len(d.c.apis)]+"/api/v1/admin/requests/"+f.id+"/"+action, d.c.token, nil, body, nil, nil)
	if err != nil && !transient(err) {
		return fmt.Errorf("request %s: %s: %w", f.id, action, err)
	}
	return nil
}

// pollEvery is how often the driver looks at a request: short next to a fault's outage,
// long enough that the polling is not the load.
const pollEvery = 500 * time.Millisecond

// follow plays requester and analyst until the request completes. A request that needs
// attention must say why; the analyst then retries it, as the staff page offers.
func (d *driver) follow(ctx context.Context, f *flow) error {
	identitySent := false
	var lastRetry time.Time
	for {
		view, err := d.staffView(ctx, f)
		if err != nil {
			return fmt.Errorf("request %s: staff view: %w (last status %q)", f.id, err, f.status)
		}
		f.status, f.reason = view.Status, view.StatusReason
		switch view.Status {
		case "completed":
			return nil
		case "awaiting_identity_verification":
			if !identitySent {
				var answer struct{ Verified bool }
				err := f.call(ctx, http.MethodPost, d.c.apis[f.n%len(d.c.apis)]+"/api/v1/requests/"+f.id+"/identity", f.token, nil,
					map[string]any{"answers": map[string]string{"postal_code": f.person.postalCode, "order_number": f.person.orderNumber}}, &answer, nil)
				switch {
				case err == nil && !answer.Verified:
					return fmt.Errorf("request %s: the person's own data points did not verify them", f.id)
				case err == nil:
					identitySent = true
				case !transient(err):
					return fmt.Errorf("request %s: identity: %w", f.id, err)
				}
			}
		case "pending_review":
			if err := d.staffAction(ctx, f, "approve", nil); err != nil {
				return err
			}
		case "needs_attention":
			if view.StatusReason == "" {
				return fmt.Errorf("request %s needs attention and says not why", f.id)
			}
			if time.Since(lastRetry) > 10*time.Second {
				lastRetry = time.Now()
				for _, store := range view.failed {
					if err := d.staffAction(ctx, f, "retry", map[string]string{"store": store}); err != nil {
						return err
					}
				}
			}
		case "denied", "cancelled", "expired":
			return fmt.Errorf("request %s ended %s: %s", f.id, view.Status, view.StatusReason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("request %s stuck in %s (reason %q, last change %s): %w", f.id, view.Status, view.StatusReason,
				view.UpdatedAt.Format(time.RFC3339), ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}
