package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dsr-project/dsr/internal/connector/webhook"
)

// AffiliatePath is where the demo affiliate takes recipient notices.
const AffiliatePath = "/v1/notices"

// Affiliate is the demo's affiliate reached by webhook ("Smith Micro Software AS" in the
// data map): it receives the recipient notices of internal/connector/webhook/PROTOCOL.md,
// checks each one's signature and acknowledges it. It keeps what it received in memory,
// keyed by the notice's idempotency key, so that a repeated notice is answered as the
// first was and counted once.
type Affiliate struct {
	keyID  string
	secret []byte

	server  *http.Server
	mu      sync.Mutex
	notices map[string]webhook.RecipientNotice
	order   []string
}

// NewAffiliate returns the affiliate; keyID and secret are the key dsr signs its notices with.
func NewAffiliate(keyID string, secret []byte) *Affiliate {
	return &Affiliate{keyID: keyID, secret: secret, notices: map[string]webhook.RecipientNotice{}}
}

// Start serves the affiliate on a loopback port and returns the URL notices go to.
func (a *Affiliate) Start() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo affiliate: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+AffiliatePath, a)
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go a.server.Serve(ln) // returns http.ErrServerClosed on Close
	return "http://" + ln.Addr().String() + AffiliatePath, nil
}

// Close stops serving.
func (a *Affiliate) Close() {
	if a.server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.server.Shutdown(ctx) // a slow client is cut off at the timeout, which is all we want
}

// ServeHTTP answers one notice: 401 when its signature does not check out, 400 when it is
// not a recipient notice, otherwise 200 and {"status":"acknowledged"}.
func (a *Affiliate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(webhook.HeaderKeyID) != a.keyID {
		http.Error(w, "unknown key ID", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(a.secret, r.Header, body, time.Now(), webhook.DefaultWindow); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var n webhook.RecipientNotice
	if err := json.Unmarshal(body, &n); err != nil || n.Kind != webhook.KindRecipientNotice || n.IdempotencyKey == "" {
		http.Error(w, "not a recipient notice", http.StatusBadRequest)
		return
	}
	a.record(n)
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"acknowledged"}`)) // a lost answer is retried with the same key
}

// record keeps the first notice of each idempotency key.
func (a *Affiliate) record(n webhook.RecipientNotice) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.notices[n.IdempotencyKey]; seen {
		return
	}
	a.notices[n.IdempotencyKey] = n
	a.order = append(a.order, n.IdempotencyKey)
}

// Notices lists the notices received, once each, in the order they first arrived.
func (a *Affiliate) Notices() []webhook.RecipientNotice {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]webhook.RecipientNotice, 0, len(a.order))
	for _, k := range a.order {
		out = append(out, a.notices[k])
	}
	return out
}
