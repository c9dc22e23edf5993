package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// SupportDeskPath is where the support desk takes dsr's requests.
const SupportDeskPath = "/dsr"

// SupportDesk is the demo's support-desk service, a system dsr reaches only through the
// webhook protocol (internal/connector/webhook/PROTOCOL.md). It keeps tickets in its own
// database, checks every request's signature, and answers a review at once. A change it
// carries out and records in one transaction; when dsr offered a callback URL it answers
// 202 and posts the result there, signed with the same key, as a slower service would.
// A repeated request finds its recorded result and changes nothing.
type SupportDesk struct {
	db       *sql.DB
	postgres bool
	keyID    string
	secret   []byte
	client   *http.Client
	// RetryDelay is the first wait before a failed callback is sent again; it doubles.
	RetryDelay time.Duration

	server    *http.Server
	url       string
	callbacks sync.WaitGroup
	stop      context.CancelFunc
	stopped   context.Context
}

// OpenSupportDesk connects the service to its database in the demo target, which Setup
// created and seeded. keyID and secret are the store's signing key.
func OpenSupportDesk(ctx context.Context, target, keyID string, secret []byte) (*SupportDesk, error) {
	t, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	conn := t.Connection(SupportDeskStore)
	db, err := sqlstore.OpenDB(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("support desk: %w", err)
	}
	stopped, stop := context.WithCancel(context.Background())
	return &SupportDesk{db: db, postgres: conn.Driver == datamap.Postgres, keyID: keyID, secret: secret,
		client: &http.Client{Timeout: 10 * time.Second}, RetryDelay: 200 * time.Millisecond,
		stopped: stopped, stop: stop}, nil
}

// Start serves the desk on a loopback port and returns the URL dsr posts to.
func (d *SupportDesk) Start() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("support desk: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+SupportDeskPath, d)
	d.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go d.server.Serve(ln) // returns http.ErrServerClosed on Close
	d.url = "http://" + ln.Addr().String() + SupportDeskPath
	return d.url, nil
}

// Close stops serving, abandons callbacks still being retried (dsr sends the request
// again when a staff member retries the store) and closes the database.
func (d *SupportDesk) Close() {
	if d.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.server.Shutdown(ctx) // a slow client is cut off at the timeout, which is all we want
	}
	d.stop()
	d.callbacks.Wait()
	d.db.Close()
}

// ServeHTTP answers one signed request of dsr's.
func (d *SupportDesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := webhook.ParseRequestOrPlan(r, d.key, time.Now())
	if err != nil {
		http.Error(w, err.Error(), webhook.RefusalStatus(err))
		return
	}
	if req.Operation == webhook.PlanOperation {
		answer, err := d.plan(r.Context(), req)
		d.answer(w, answer, err)
		return
	}
	if req.Operation == domain.TypeReview {
		answer, err := d.review(r.Context(), req.Email)
		d.answer(w, answer, err)
		return
	}
	answer, repeat, err := d.applyOnce(r.Context(), req)
	if err != nil || repeat || req.CallbackURL == "" {
		d.answer(w, answer, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"status":"accepted"}`))
	answer.RequestID, answer.IdempotencyKey = req.RequestID, req.IdempotencyKey
	d.callbacks.Add(1)
	go func() {
		defer d.callbacks.Done()
		d.callBack(req.CallbackURL, answer)
	}()
}

func (d *SupportDesk) key(keyID string) ([]byte, bool) { return d.secret, keyID == d.keyID }

// answer writes a synchronous result; a database failure is a 503, which dsr retries.
func (d *SupportDesk) answer(w http.ResponseWriter, a webhook.Answer, err error) {
	if err != nil {
		http.Error(w, "the support desk is unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a) // a failed write is the client's lost answer; it retries
}

// callBack posts the signed result until dsr takes it, backing off between attempts. dsr
// refuses a callback (409) that arrives before the request waits for it, so that too is
// retried; a 4xx that says the callback itself is wrong is not.
func (d *SupportDesk) callBack(url string, a webhook.Answer) {
	body, err := json.Marshal(a)
	if err != nil {
		return
	}
	delay := d.RetryDelay
	for range 20 {
		req, err := http.NewRequestWithContext(d.stopped, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		webhook.SignHeader(req.Header, d.keyID, d.secret, body, time.Now())
		resp, err := d.client.Do(req)
		if err == nil {
			resp.Body.Close()
			switch code := resp.StatusCode; {
			case code < 300:
				return
			case code == http.StatusBadRequest, code == http.StatusUnauthorized, code == http.StatusRequestEntityTooLarge:
				return
			}
		}
		select {
		case <-d.stopped.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

type ticket struct {
	id       int64
	name     sql.NullString
	subject  string
	openedAt time.Time
}

func (d *SupportDesk) q(query string) string {
	if d.postgres {
		return rebind(query)
	}
	return query
}

func (d *SupportDesk) tickets(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, email string) ([]ticket, error) {
	rows, err := q.QueryContext(ctx, d.q(`SELECT id, requester_name, subject, opened_at FROM tickets WHERE email = ? ORDER BY id`), email)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ticket
	for rows.Next() {
		var t ticket
		if err := rows.Scan(&t.id, &t.name, &t.subject, &t.openedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// found lists the categories the tickets hold.
func found(ts []ticket) []string {
	if len(ts) == 0 {
		return nil
	}
	if slices.ContainsFunc(ts, func(t ticket) bool { return t.name.Valid }) {
		return []string{"name", "support_tickets"}
	}
	return []string{"support_tickets"}
}

func (d *SupportDesk) review(ctx context.Context, email string) (webhook.Answer, error) {
	ts, err := d.tickets(ctx, d.db, email)
	if err != nil {
		return webhook.Answer{}, err
	}
	a := webhook.Answer{Status: webhook.StatusDone, Found: found(ts), NotFound: len(ts) == 0}
	if len(ts) > 0 {
		var list []map[string]any
		for _, t := range ts {
			rec := map[string]any{"subject": t.subject, "opened_at": t.openedAt.UTC()}
			if t.name.Valid {
				rec["requester_name"] = t.name.String
			}
			list = append(list, rec)
		}
		a.Export = map[string]any{"tickets": list}
	}
	return a, nil
}

// applyOnce carries out a change and records its result in one transaction; a request
// whose idempotency key was recorded gets the recorded result back, with repeat set.
func (d *SupportDesk) applyOnce(ctx context.Context, req webhook.Request) (a webhook.Answer, repeat bool, err error) {
	err = inTx(ctx, d.db, func(tx *sql.Tx) error {
		claimed, err := tx.ExecContext(ctx, d.q(`INSERT INTO processed (idempotency_key, result, processed_at) VALUES (?, '', ?) ON CONFLICT DO NOTHING`),
			req.IdempotencyKey, time.Now().UTC())
		if err != nil {
			return err
		}
		if n, err := claimed.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var stored string
			if err := tx.QueryRowContext(ctx, d.q(`SELECT result FROM processed WHERE idempotency_key = ?`), req.IdempotencyKey).Scan(&stored); err != nil {
				return err
			}
			repeat = true
			return json.Unmarshal([]byte(stored), &a)
		}
		if a, err = d.change(ctx, tx, req); err != nil {
			return err
		}
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, d.q(`UPDATE processed SET result = ? WHERE idempotency_key = ?`), string(b), req.IdempotencyKey)
		return err
	})
	return a, repeat, err
}

// change is what each operation does to the person's tickets, carried out.
func (d *SupportDesk) change(ctx context.Context, tx *sql.Tx, req webhook.Request) (webhook.Answer, error) {
	ts, err := d.tickets(ctx, tx, req.Email)
	if err != nil {
		return webhook.Answer{}, err
	}
	dec := decide(ts, req.Operation, req)
	if dec.query != "" {
		_, err = tx.ExecContext(ctx, d.q(dec.query), append(dec.args, req.Email)...)
	}
	return dec.answer, err
}

// plan answers a plan request (PROTOCOL.md section 6) with what the same decision would
// change, changing nothing.
func (d *SupportDesk) plan(ctx context.Context, req webhook.Request) (webhook.Answer, error) {
	ts, err := d.tickets(ctx, d.db, req.Email)
	if err != nil {
		return webhook.Answer{}, err
	}
	dec := decide(ts, req.PlanOf, req)
	a := webhook.Answer{Status: webhook.StatusPlanned, NotFound: len(ts) == 0}
	if len(ts) > 0 {
		a.Tables = []connector.TableChange{dec.table}
	}
	return a, nil
}

// decision is what an operation does to the person's tickets: the answer it gives, the
// statement that carries it out (its last argument the address), and the plan's table.
type decision struct {
	answer webhook.Answer
	query  string
	args   []any
	table  connector.TableChange
}

// decide works out what op does to the tickets ts, for a change and its plan alike. The
// desk keeps nothing for the law, so a suppression of everything deletes the tickets.
func decide(ts []ticket, op domain.RequestType, req webhook.Request) decision {
	dec := decision{answer: webhook.Answer{Status: webhook.StatusDone, Found: found(ts), NotFound: len(ts) == 0},
		table: connector.TableChange{Table: "tickets", Matched: len(ts)}}
	if dec.answer.NotFound {
		return dec
	}
	named := 0
	for _, t := range ts {
		if t.name.Valid {
			named++
		}
	}
	switch op {
	case domain.TypeSuppress, domain.TypeChildErasure:
		scope := domain.SuppressScope{All: true}
		if op == domain.TypeSuppress && req.Details.Scope != nil {
			scope = *req.Details.Scope
		}
		switch {
		case scope.All || slices.Contains(scope.Categories, "support_tickets"):
			dec.answer.Changed = dec.answer.Found
			dec.query = `DELETE FROM tickets WHERE email = ?`
			dec.table.Deleted = len(ts)
			dec.table.Columns = []connector.ColumnChange{{Column: "requester_name", Action: connector.ActionDelete, Rows: len(ts)},
				{Column: "subject", Action: connector.ActionDelete, Rows: len(ts)}}
		case slices.Contains(scope.Categories, "name") && slices.Contains(dec.answer.Found, "name"):
			dec.answer.Changed = []string{"name"}
			dec.query = `UPDATE tickets SET requester_name = NULL WHERE email = ?`
			dec.table.Updated = named
			dec.table.Columns = []connector.ColumnChange{{Column: "requester_name", Action: connector.ActionNull, Rows: named}}
		}
	case domain.TypeCorrect, domain.TypeUpdate:
		for _, ch := range req.Details.Changes {
			if ch.Field == "name" {
				dec.answer.Changed = []string{"name"}
				dec.query, dec.args = `UPDATE tickets SET requester_name = ? WHERE email = ?`, []any{ch.Value}
				dec.table.Updated = len(ts)
				dec.table.Columns = []connector.ColumnChange{{Column: "requester_name", Action: connector.ActionSet, Rows: len(ts)}}
			}
		}
	case domain.TypeRestrict:
		dec.answer.Notes = []string{"The support desk uses your address only to answer your own tickets; it sends no marketing and shares nothing."}
	}
	return dec
}
