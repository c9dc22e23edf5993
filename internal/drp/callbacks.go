package drp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// CallbackStore is what the callback sender reads and writes; *requestdb.Repo is one.
type CallbackStore interface {
	StatusReader
	DueDRPCallbacks(ctx context.Context, now time.Time, limit int) ([]requestdb.DRPCallback, error)
	DRPCallbacksSent(ctx context.Context, requestID string, upTo int64, at time.Time) error
	DRPCallbackFailed(ctx context.Context, requestID string, upTo int64, next time.Time, reason string) error
}

// Callback retry timing: the first retry after CallbackRetryBase, doubling up to
// CallbackRetryMax, so that an agent down for a day is still told once it is back.
const (
	CallbackRetryBase = 10 * time.Second
	CallbackRetryMax  = time.Hour
	// callbackBatch bounds the callbacks one pass sends.
	callbackBatch = 100
	// IdempotencyHeader carries the key an agent can drop repeats of a callback by.
	IdempotencyHeader = "Idempotency-Key"
)

// Sender posts the status callbacks owed to agents (section 2.03) from the outbox the
// request steps fill, apart from the request workflows, so a slow or absent agent never
// holds a request up. Each callback carries the request's state when it is sent, which
// covers every change owed before it; it is sent at least once.
type Sender struct {
	Store  CallbackStore
	Links  links.Builder
	Client *http.Client
	// Interval is how often the outbox is read; zero means a second.
	Interval time.Duration
	// RetryBase is the wait before the first retry; zero means CallbackRetryBase.
	RetryBase time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Run sends callbacks until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	every(ctx, s.Interval, func() error { _, err := s.SendDue(ctx); return err }, s.log(), "drp status callbacks")
}

// every runs pass at once and then each interval (a second when zero) until ctx ends,
// logging what fails as what.
func every(ctx context.Context, interval time.Duration, pass func() error, log *slog.Logger, what string) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := pass(); err != nil && ctx.Err() == nil {
			log.Warn(what, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendDue sends the callbacks whose time has come, one per request, and returns how many
// were delivered.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	due, err := s.Store.DueDRPCallbacks(ctx, s.now(), callbackBatch)
	if err != nil {
		return 0, err
	}
	// The newest owed callback of each request stands for the older ones.
	newest := map[string]requestdb.DRPCallback{}
	var order []string
	for _, c := range due {
		if _, seen := newest[c.RequestID]; !seen {
			order = append(order, c.RequestID)
		}
		newest[c.RequestID] = c
	}
	sent := 0
	for _, id := range order {
		c := newest[id]
		if err := s.send(ctx, c); err != nil {
			base := s.RetryBase
			if base <= 0 {
				base = CallbackRetryBase
			}
			wait := min(base<<min(c.Attempts, 20), CallbackRetryMax)
			s.log().Info("drp status callback failed; will retry", "request_id", id, "attempt", c.Attempts+1, "retry_in", wait, "error", err)
			if ferr := s.Store.DRPCallbackFailed(ctx, id, c.ID, s.now().Add(wait), err.Error()); ferr != nil {
				return sent, ferr
			}
			continue
		}
		if err := s.Store.DRPCallbacksSent(ctx, id, c.ID, s.now()); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// send posts one callback and wants a 2xx answer, whose body it discards (2.03.1).
func (s *Sender) send(ctx context.Context, c requestdb.DRPCallback) error {
	link, err := s.Store.GetDRPRequest(ctx, c.RequestID)
	if err != nil {
		return err
	}
	status, err := StatusOf(ctx, s.Store, s.Links, c.RequestID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(status)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link.StatusCallback, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyHeader, fmt.Sprintf("%s:%d", c.RequestID, c.StepSeq))
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL is the agent's; the error may spell it, but it holds no personal data.
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the agent answered %d", resp.StatusCode)
	}
	return nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
