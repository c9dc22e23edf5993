package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Target is a running dsr stack that scenarios drive: its HTTP API, an admin token for the
// staff endpoints, and a client of the Temporal server it runs on, for the same-run
// baselines. The dev mailbox must be on, since the harness reads codes from it.
type Target struct {
	BaseURL    string
	AdminToken string
	Temporal   client.Client
	// HTTP keeps enough idle connections for the scenarios' concurrency; nil means one
	// made by NewHTTPClient.
	HTTP *http.Client
	// Shared says the engine outlives the run (a cluster, not the run's embedded server),
	// so requests a scenario leaves waiting must be cancelled at its end.
	Shared bool
}

// NewHTTPClient keeps one idle connection per concurrent caller, so a load run measures the
// server rather than TCP handshakes and exhausted ephemeral ports.
func NewHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 4*concurrency, 4*concurrency
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// defaultHTTP is the client of every Target without one: made once, so its connections are
// reused across calls instead of each call opening (and leaving behind) its own.
var defaultHTTP = sync.OnceValue(func() *http.Client { return NewHTTPClient(64) })

func (t Target) httpClient() *http.Client {
	if t.HTTP != nil {
		return t.HTTP
	}
	return defaultHTTP()
}

// call sends body as JSON with an optional bearer token, decodes a 2xx answer into out and
// returns any other status as an error.
func (t Target) call(ctx context.Context, method, path, token string, body, out any) error {
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, t.BaseURL+path, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{what: method + " " + req.URL.Path, code: resp.StatusCode, body: string(bytes.TrimSpace(raw))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// statusError is an answer other than 2xx. The body is the API's error object, which never
// carries personal data.
type statusError struct {
	what, body string
	code       int
}

func (e *statusError) Error() string { return fmt.Sprintf("%s: %d %s", e.what, e.code, e.body) }

// isStatus reports whether err is an answer with the HTTP status code.
func isStatus(err error, code int) bool {
	var s *statusError
	return errors.As(err, &s) && s.code == code
}
