package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/workflows"
)

// EndToEndOptions size the end-to-end scenario.
type EndToEndOptions struct {
	Target      Target
	Requests    int
	Concurrency int
}

// EndToEnd runs reviews and suppressions of the demo people from intake to completed, the
// harness playing requester and analyst through the real endpoints, against a workflow of
// as many no-op activities on the same server, the two taking turns in rounds. One request
// of each type runs first, to warm the stack and to count the engine work a request takes.
func EndToEnd(o EndToEndOptions) Scenario {
	return Scenario{Name: "e2e", Run: func(ctx context.Context, progress io.Writer) ([]Figure, error) {
		h := newHarness(o.Target)
		work := map[string]EngineWork{}
		for _, typ := range requestTypes {
			id, err := h.runOne(ctx, h.pairs.forType(typ))
			if err != nil {
				return nil, fmt.Errorf("warm-up %s: %w", typ, err)
			}
			if work[typ], err = CountEngineWork(ctx, o.Target.Temporal, workflows.RequestID(id)); err != nil {
				return nil, err
			}
		}
		w, err := startBaselineWorker(o.Target.Temporal)
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		base, got, err := RunPaired(ctx, o.Requests, o.Concurrency, e2eRounds, progress,
			"no-op workflows", runNoop(o.Target.Temporal, work),
			"dsr requests", func(ctx context.Context, i int) error {
				_, err := h.runOne(ctx, h.pairs.forType(requestTypes[i%len(requestTypes)]))
				return err
			})
		if err != nil {
			return nil, err
		}
		figs := append(base.Figures("no-op workflows", "workflows/s"), got.Figures("dsr requests", "requests/s")...)
		figs = append(figs, engineWorkFigures("review", work["review"])...)
		figs = append(figs, engineWorkFigures("suppression", work["suppress"])...)
		return append(figs,
			Figure{Name: "stores per request", Value: float64(h.stores()), Unit: "stores"},
			Ratio("throughput vs no-op workflows", got.PerSecond(), base.PerSecond(), 0.7, false),
		), nil
	}}
}

var requestTypes = []string{"review", "suppress"}

// e2eRounds is how many turns the requests and their baseline take (see RunPaired).
const e2eRounds = 4

// noopActivities is how many activities the baseline runs for a request's work: every
// activity and local activity it ran, each as an ordinary activity, as dsr once did.
func noopActivities(w EngineWork) int { return w.Activities + w.LocalActivities }

// runNoop is the baseline's call i: a workflow of as many no-op activities as a request of
// call i's type runs, started and awaited.
func runNoop(c client.Client, work map[string]EngineWork) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: "bench-noop-" + uuid.NewString(), TaskQueue: BaselineTaskQueue,
		}, NoopActivitiesWorkflow, noopActivities(work[requestTypes[i%len(requestTypes)]]))
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	}
}

// harness plays the requester (reading codes from the dev mailbox) and the analyst
// (verifying identity and completing manual tasks through the staff API).
type harness struct {
	target Target
	pairs  *pairs
	// storeCount is how many stores the last completed request went through.
	mu         sync.Mutex
	storeCount int
}

func newHarness(t Target) *harness { return &harness{target: t, pairs: newPairs()} }

func (h *harness) stores() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.storeCount
}

// pollEvery is how often the harness looks again; short enough to add little to a request's
// time, long enough not to load the server with polling.
const pollEvery = 25 * time.Millisecond

var codeInMail = regexp.MustCompile(`\b(\d{6})\b`)

// runOne takes one request from intake to completed and returns its ID. The pair is held
// for the whole run, so two open requests never share an address and type (a second one
// would join the first instead of running).
func (h *harness) runOne(ctx context.Context, p *pair) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := h.target
	body := map[string]any{"type": p.typ, "email": p.email, "jurisdiction": "gdpr"}
	if p.typ == "suppress" {
		body["details"] = map[string]any{"scope": map[string]any{"all": true}}
	}
	var intake struct {
		ID          string `json:"id"`
		StatusToken string `json:"status_token"`
	}
	if err := t.call(ctx, http.MethodPost, "/api/v1/requests", "", body, &intake); err != nil {
		return "", err
	}
	code, err := h.waitForCode(ctx, p.email, intake.ID)
	if err != nil {
		return "", err
	}
	var verified struct{ Result string }
	mine := "/api/v1/requests/" + intake.ID
	if err := t.call(ctx, http.MethodPost, mine+"/verify", intake.StatusToken, map[string]string{"code": code}, &verified); err != nil {
		return "", err
	}
	if verified.Result != "confirmed" {
		return "", fmt.Errorf("request %s: code was %s", intake.ID, verified.Result)
	}
	identityDone := false
	for {
		status, err := h.rowStatus(ctx, intake.ID)
		if err != nil {
			return "", err
		}
		switch status {
		case "completed":
			return intake.ID, h.checkStores(ctx, intake.ID, intake.StatusToken)
		case "awaiting_identity_verification":
			if !identityDone {
				// Data points are erased by an earlier suppression, so the analyst verifies.
				// The row changes just before the workflow's own state does, so a refusal
				// (409) means "not yet" and is tried again, as is a busy engine (503).
				err := t.call(ctx, http.MethodPost, "/api/v1/admin/requests/"+intake.ID+"/verify-identity", t.AdminToken,
					map[string]string{"reason": "benchmark: verified by the harness"}, nil)
				if err != nil && !retryLater(err) {
					return "", err
				}
				identityDone = err == nil
			}
		case "awaiting_manual_tasks":
			if err := h.completeTasks(ctx, intake.ID); err != nil {
				return "", err
			}
		case "denied", "cancelled", "expired", "needs_attention":
			var view struct {
				StatusReason string `json:"status_reason"`
			}
			if err := t.call(ctx, http.MethodGet, mine, intake.StatusToken, nil, &view); err != nil {
				return "", err
			}
			return "", fmt.Errorf("request %s ended %s: %s", intake.ID, status, view.StatusReason)
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return "", err
		}
	}
}

// rowStatus reads the request's status from the staff list, which reads the database row
// only. The requester's view asks the workflow (a query the worker must answer), so polling
// it from every caller would load the worker with the harness's own polling.
func (h *harness) rowStatus(ctx context.Context, id string) (string, error) {
	var list struct {
		Requests []struct{ Status string } `json:"requests"`
	}
	if err := h.target.call(ctx, http.MethodGet, "/api/v1/admin/requests?id="+id, h.target.AdminToken, nil, &list); err != nil {
		return "", err
	}
	if len(list.Requests) != 1 {
		return "", fmt.Errorf("request %s: the staff list shows %d rows", id, len(list.Requests))
	}
	return list.Requests[0].Status, nil
}

// checkStores asks the requester's view whether every store was done: once, or again
// after a pause when the API answers that the engine is busy (503), as a requester would.
func (h *harness) checkStores(ctx context.Context, id, token string) error {
	var view struct {
		Stores struct{ Total, Done int }
	}
	for attempt := 1; ; attempt++ {
		err := h.target.call(ctx, http.MethodGet, "/api/v1/requests/"+id, token, nil, &view)
		if err == nil {
			break
		}
		if !isStatus(err, http.StatusServiceUnavailable) || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if view.Stores.Total == 0 || view.Stores.Done != view.Stores.Total {
		return fmt.Errorf("request %s completed with %d of %d stores done", id, view.Stores.Done, view.Stores.Total)
	}
	h.mu.Lock()
	h.storeCount = view.Stores.Total
	h.mu.Unlock()
	return nil
}

// waitForCode finds the code mailed for the request in the address's dev mailbox.
func (h *harness) waitForCode(ctx context.Context, email, requestID string) (string, error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var mails []struct{ Text string }
		if err := h.target.call(ctx, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(email), "", nil, &mails); err != nil {
			return "", err
		}
		for _, m := range mails {
			if strings.Contains(m.Text, requestID) {
				if c := codeInMail.FindStringSubmatch(m.Text); c != nil {
					return c[1], nil
				}
			}
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("request %s: no code in the dev mailbox after a minute", requestID)
}

// completeTasks does the request's manual tasks as an analyst would: nothing found.
func (h *harness) completeTasks(ctx context.Context, requestID string) error {
	var list struct {
		Tasks []struct {
			ID        string `json:"id"`
			RequestID string `json:"request_id"`
		} `json:"tasks"`
	}
	if err := h.target.call(ctx, http.MethodGet, "/api/v1/admin/tasks?status=open", h.target.AdminToken, nil, &list); err != nil {
		return err
	}
	for _, task := range list.Tasks {
		if task.RequestID != requestID {
			continue
		}
		err := h.target.call(ctx, http.MethodPost, "/api/v1/admin/tasks/"+url.PathEscape(task.ID)+"/complete", h.target.AdminToken,
			map[string]any{"result": map[string]any{"not_found": true}, "note": "benchmark"}, nil)
		if err != nil && !retryLater(err) {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// pair is one address and request type; its lock is held while a request of it runs.
type pair struct {
	email, typ string
	mu         sync.Mutex
}

// pairs hands out the demo people's addresses round robin for each request type.
type pairs struct {
	byType map[string][]*pair
	mu     sync.Mutex
	next   map[string]int
}

func newPairs() *pairs {
	var emails []string
	for _, p := range demo.DemoPeople() {
		emails = append(emails, p.Email)
	}
	for i := range demo.SyntheticPeople {
		emails = append(emails, fmt.Sprintf("person%03d@example.org", i+1))
	}
	ps := &pairs{byType: map[string][]*pair{}, next: map[string]int{}}
	for _, typ := range requestTypes {
		for _, e := range emails {
			ps.byType[typ] = append(ps.byType[typ], &pair{email: e, typ: typ})
		}
	}
	return ps
}

func (ps *pairs) forType(typ string) *pair {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	list := ps.byType[typ]
	p := list[ps.next[typ]%len(list)]
	ps.next[typ]++
	return p
}

// retryLater reports whether a staff action is worth sending again on the next look: the
// workflow is not there yet (409) or the engine asked to try again shortly (503).
func retryLater(err error) bool {
	return isStatus(err, http.StatusConflict) || isStatus(err, http.StatusServiceUnavailable)
}
