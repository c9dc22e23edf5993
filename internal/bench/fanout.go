package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// fanoutRounds is how many turns the requests and their baseline take (see RunPaired).
const fanoutRounds = 4

// FanoutOptions size the fanout scenario.
type FanoutOptions struct {
	// Target is a stack whose only stores are Stores webhook stores answered by Stub, and
	// whose identity policy asks reviews and suppressions for the mailbox code alone.
	Target      Target
	Stub        *WebhookStub
	Stores      int
	Requests    int
	Concurrency int
	// Watch are the processes whose CPU time per request is reported: the bench's own and
	// any others the run names (the Temporal server, PostgreSQL).
	Watch []Process
}

// Fanout runs reviews and suppressions, alternately, from intake to completed through
// stores that all answer at once, so what is measured is dsr's orchestration: the
// workflow, its activities and the engine. Each request has an address of its own, which
// no store knows (the stub answers every address alike). The baseline is a workflow of as
// many no-op activities on the same server, taking turns with the requests.
func Fanout(o FanoutOptions) Scenario {
	return Scenario{Name: "fanout", Run: func(ctx context.Context, progress io.Writer) ([]Figure, error) {
		h := &harness{target: o.Target}
		// The run's tag keeps its addresses apart from an earlier run's on a shared database,
		// where a request still open would be joined instead of run.
		tag := uuid.NewString()[:8]
		runOne := func(ctx context.Context, name, typ string) (string, error) {
			return h.runOne(ctx, &pair{email: fmt.Sprintf("fanout-%s-%s@example.org", tag, name), typ: typ})
		}
		work := map[string]EngineWork{}
		for _, typ := range requestTypes {
			id, err := runOne(ctx, "warm-"+typ, typ)
			if err != nil {
				return nil, fmt.Errorf("warm-up %s: %w", typ, err)
			}
			if work[typ], err = CountEngineWork(ctx, o.Target.Temporal, workflows.RequestID(id)); err != nil {
				return nil, err
			}
		}
		if h.stores() != o.Stores {
			return nil, fmt.Errorf("a request went through %d stores, want the %d webhook stores", h.stores(), o.Stores)
		}
		w, err := startBaselineWorker(o.Target.Temporal)
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		calls := o.Stub.Calls()
		base, got, err := RunPairedWatching(ctx, o.Watch, o.Requests, o.Concurrency, fanoutRounds, progress,
			"no-op workflows", runNoop(o.Target.Temporal, work),
			"dsr requests", func(ctx context.Context, i int) error {
				_, err := runOne(ctx, fmt.Sprint(i), requestTypes[i%len(requestTypes)])
				return err
			})
		if err != nil {
			return nil, err
		}
		figs := append(base.Figures("no-op workflows", "workflows/s"), got.Figures("dsr requests", "requests/s")...)
		figs = append(figs, base.CPUFigures("no-op workflows", o.Watch)...)
		figs = append(figs, got.CPUFigures("dsr requests", o.Watch)...)
		figs = append(figs, engineWorkFigures("review", work["review"])...)
		figs = append(figs, engineWorkFigures("suppression", work["suppress"])...)
		return append(figs,
			Figure{Name: "stores per request", Value: float64(h.stores()), Unit: "stores"},
			// More calls than stores means dsr sent some operations again.
			Figure{Name: "webhook calls per request", Value: float64(o.Stub.Calls()-calls) / float64(max(o.Requests, 1)), Unit: "calls"},
			Ratio("throughput vs no-op workflows", got.PerSecond(), base.PerSecond(), 1.5, false),
		), nil
	}}
}

// FanoutDataMap is a data map of stores webhook stores, all answered at url and signed
// with the key keyID whose secret is in the environment variable secretEnv.
func FanoutDataMap(url, keyID, secretEnv string, stores int) []byte {
	var b strings.Builder
	b.WriteString("# Written by dsr bench for the fanout scenario: webhook stores that answer at once.\nstores:\n")
	for i := range stores {
		fmt.Fprintf(&b, "  - name: fanout-%d\n    kind: http\n    connection: {url: %q, key_id: %q, secret_env: %q}\n    holds: [name]\n",
			i+1, url, keyID, secretEnv)
	}
	return []byte(b.String())
}

// WebhookStub is a service of the webhook protocol (internal/connector/webhook/PROTOCOL.md)
// that answers every signed request at once and keeps nothing: a review finds a name, any
// other operation changes it. A request that fails the signature check gets 401.
type WebhookStub struct {
	keyID  string
	secret []byte
	server *http.Server
	url    string
	calls  atomic.Int64
}

// StartWebhookStub serves the stub on a loopback port; Close stops it.
func StartWebhookStub(keyID string, secret []byte) (*WebhookStub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook stub: %w", err)
	}
	s := &WebhookStub{keyID: keyID, secret: secret, url: "http://" + ln.Addr().String() + "/dsr"}
	mux := http.NewServeMux()
	mux.Handle("POST /dsr", s)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.server.Serve(ln) // returns http.ErrServerClosed on Close
	return s, nil
}

// URL is where the stub takes requests.
func (s *WebhookStub) URL() string { return s.url }

// Calls is how many requests the stub has answered with a result.
func (s *WebhookStub) Calls() int64 { return s.calls.Load() }

// Close stops serving.
func (s *WebhookStub) Close() { s.server.Close() }

func (s *WebhookStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := webhook.ParseRequest(r, func(keyID string) ([]byte, bool) { return s.secret, keyID == s.keyID }, time.Now())
	if err != nil {
		http.Error(w, err.Error(), webhook.RefusalStatus(err))
		return
	}
	a := webhook.Answer{Status: webhook.StatusDone, Found: []string{"name"}}
	if req.Operation != domain.TypeReview {
		a.Changed = a.Found
	}
	body, err := json.Marshal(a)
	if err != nil {
		http.Error(w, "encode answer", http.StatusInternalServerError)
		return
	}
	// Every message of the protocol is signed, answers too.
	webhook.SignHeader(w.Header(), s.keyID, s.secret, body, time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	s.calls.Add(1)
}
