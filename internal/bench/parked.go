package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ParkedOptions configure the parked-requests scenario.
type ParkedOptions struct {
	// Target must serve the dev mailbox, have intake and verification rate limits above
	// the load, and an admin token (the requests are cancelled at the end, untimed).
	Target Target
	// Requests is how many requests are parked waiting for their code; default 10,000.
	Requests int
	// Confirm is how many of them then confirm their code; default 1,000, at most Requests.
	Confirm int
	// Concurrency of intake, code reading and clean-up; default 32. Confirmations run at a
	// quarter of it, so that their status polling does not become the load.
	Concurrency int
	// WorkerRSS returns the resident bytes of the process that runs dsr's worker, and only
	// the worker (see ProcessRSS): measured in a process that also runs the Temporal server
	// or the API, the figure would be theirs too. It must be the only worker on the queue,
	// or the parked workflows are cached by several.
	WorkerRSS func() (int64, error)
	// ReadCode returns the code last mailed to an address, or "" while none has arrived;
	// nil reads the dev mailbox through the API. A worker process of its own sends mail by
	// SMTP, and the harness then reads it where that mail lands.
	ReadCode func(ctx context.Context, email string) (string, error)
}

// Parked parks Requests review requests waiting for their e-mail code and reports the
// worker's resident memory before and with them (goal ≤ 300 MB), then confirms Confirm of
// them and reports how long each takes from sending the code to the request's next status
// (p50, p99), as the requester's status endpoint shows it.
func Parked(opts ParkedOptions) Scenario {
	if opts.Requests <= 0 {
		opts.Requests = 10_000
	}
	if opts.Confirm <= 0 {
		opts.Confirm = 1000
	}
	opts.Confirm = min(opts.Confirm, opts.Requests)
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.Target.HTTP == nil {
		opts.Target.HTTP = NewHTTPClient(opts.Concurrency)
	}
	return Scenario{Name: "parked", Run: func(ctx context.Context, progress io.Writer) ([]Figure, error) {
		if opts.WorkerRSS == nil {
			return nil, fmt.Errorf("parked: no way to measure the worker's memory")
		}
		return runParked(ctx, opts, progress)
	}}
}

// parkedRequest is one request opened by the scenario.
type parkedRequest struct {
	ID          string `json:"id"`
	StatusToken string `json:"status_token"`
	email, code string
}

func runParked(ctx context.Context, o ParkedOptions, progress io.Writer) ([]Figure, error) {
	t := o.Target
	idle, err := o.WorkerRSS()
	if err != nil {
		return nil, fmt.Errorf("worker memory: %w", err)
	}
	run := randomTag()
	reqs := make([]parkedRequest, o.Requests)
	if t.Shared {
		// The requests wait on a task queue only this run's worker polls; on the run's own
		// embedded server they go with it, so cancelling 10,000 would only cost minutes.
		defer cancelParked(context.WithoutCancel(ctx), t, reqs, o.Concurrency, progress)
	}
	intake, err := RunLoad(ctx, o.Requests, o.Concurrency, progress, "park", func(ctx context.Context, i int) error {
		reqs[i].email = fmt.Sprintf("parked-%s-%d@bench.example", run, i)
		return t.call(ctx, http.MethodPost, "/api/v1/requests", "", map[string]any{
			"type": "review", "email": reqs[i].email, "jurisdiction": "gdpr",
		}, &reqs[i])
	})
	if err != nil {
		return nil, err
	}
	// Every code mailed means every workflow has issued its code and parked.
	_, err = RunLoad(ctx, o.Requests, o.Concurrency, progress, "read codes", func(ctx context.Context, i int) error {
		code, err := parkedCode(ctx, t, reqs[i], o.ReadCode)
		reqs[i].code = code
		return err
	})
	if err != nil {
		return nil, err
	}
	parked, err := settledRSS(ctx, o.WorkerRSS)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "   worker RSS %.0f MB idle, %.0f MB with %d parked\n", megabytes(idle), megabytes(parked), o.Requests)

	moved, answered, err := confirmParked(ctx, t, reqs, o.Confirm, max(o.Concurrency/4, 1), progress)
	if err != nil {
		return nil, err
	}
	pass := megabytes(parked) <= 300
	n := sizeLabel(o.Requests)
	return []Figure{
		{Name: "park throughput", Value: intake.PerSecond(), Unit: "requests/s"},
		{Name: "worker RSS idle", Value: megabytes(idle), Unit: "MB"},
		{Name: "worker RSS with " + n + " parked", Value: megabytes(parked), Unit: "MB", Goal: "≤ 300 MB", Pass: &pass},
		{Name: "worker RSS per parked request", Value: float64(parked-idle) / 1024 / float64(o.Requests), Unit: "KB"},
		{Name: "verify answer p99", Value: Percentile(answered, 99), Unit: "ms"},
		{Name: "code to next status p50", Value: Percentile(moved, 50), Unit: "ms"},
		{Name: "code to next status p99", Value: Percentile(moved, 99), Unit: "ms"},
	}, nil
}

// parkedCode waits for the request's code, where its address has no other mail. Mail can
// lag intake by the engine's backlog, so the wait is long.
func parkedCode(ctx context.Context, t Target, r parkedRequest, read func(context.Context, string) (string, error)) (string, error) {
	if read == nil {
		read = func(ctx context.Context, email string) (string, error) { return devMailCode(ctx, t, email) }
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		code, err := read(ctx, r.email)
		if err != nil || code != "" {
			return code, err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("request %s: no code mailed within 10 minutes", r.ID)
}

// devMailCode reads the newest code in an address's dev mailbox, or "".
func devMailCode(ctx context.Context, t Target, email string) (string, error) {
	var mails []struct{ Text string }
	if err := t.call(ctx, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(email), "", nil, &mails); err != nil {
		return "", err
	}
	for _, m := range mails {
		if c := codeInMail.FindStringSubmatch(m.Text); c != nil {
			return c[1], nil
		}
	}
	return "", nil
}

// settledRSS samples the worker's memory for two seconds, once the last workflow tasks have
// had time to finish, and returns the highest sample.
func settledRSS(ctx context.Context, rss func() (int64, error)) (int64, error) {
	var high int64
	for range 5 {
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return 0, err
		}
		v, err := rss()
		if err != nil {
			return 0, fmt.Errorf("worker memory: %w", err)
		}
		high = max(high, v)
	}
	return high, nil
}

// confirmParked confirms n requests spread over all of them and times, for each, the verify
// call and the time until the status endpoint shows a status after the code.
func confirmParked(ctx context.Context, t Target, reqs []parkedRequest, n, concurrency int, progress io.Writer) (moved, answered []time.Duration, err error) {
	moved, answered = make([]time.Duration, n), make([]time.Duration, n)
	var refused atomic.Int64
	defer func() {
		if r := refused.Load(); r > 0 {
			fmt.Fprintf(progress, "   %d status reads answered 503 while polling and were repeated\n", r)
		}
	}()
	_, err = RunLoad(ctx, n, concurrency, progress, "confirm", func(ctx context.Context, i int) error {
		r := reqs[i*len(reqs)/n]
		mine := "/api/v1/requests/" + r.ID
		start := time.Now()
		var verified struct{ Result string }
		if err := t.call(ctx, http.MethodPost, mine+"/verify", r.StatusToken, map[string]string{"code": r.code}, &verified); err != nil {
			return err
		}
		answered[i] = time.Since(start)
		if verified.Result != "confirmed" {
			return fmt.Errorf("request %s: code was %s", r.ID, verified.Result)
		}
		for {
			var view struct{ Status string }
			err := t.call(ctx, http.MethodGet, mine, r.StatusToken, nil, &view)
			switch {
			case err != nil && strings.Contains(err.Error(), ": 503 "):
				// Busy for a moment: a requester's page polls again, and so does this.
				refused.Add(1)
			case err != nil:
				return err
			}
			switch view.Status {
			case "awaiting_email_verification", "":
			case "awaiting_identity_verification":
				moved[i] = time.Since(start)
				return nil
			default:
				return fmt.Errorf("request %s went to %s after its code", r.ID, view.Status)
			}
			if time.Since(start) > time.Minute {
				return fmt.Errorf("request %s did not move on within a minute of its code", r.ID)
			}
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
		}
	})
	return moved, answered, err
}

// cancelParked cancels the scenario's requests through the staff API, untimed, so that
// they do not stay parked and weigh on later scenarios.
func cancelParked(ctx context.Context, t Target, reqs []parkedRequest, concurrency int, progress io.Writer) {
	var ids []string
	for _, r := range reqs {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	var mu sync.Mutex
	failed, first := 0, ""
	RunLoad(ctx, len(ids), concurrency, io.Discard, "clean-up", func(ctx context.Context, i int) error {
		err := t.call(ctx, http.MethodPost, "/api/v1/admin/requests/"+ids[i]+"/cancel", t.AdminToken,
			map[string]string{"reason": "benchmark clean-up"}, nil)
		if err != nil {
			mu.Lock()
			if failed++; first == "" {
				first = err.Error() // the API's error object, which holds no personal data
			}
			mu.Unlock()
		}
		return nil
	})
	fmt.Fprintf(progress, "   cancelled %d parked requests (untimed), %d refused\n", len(ids)-failed, failed)
	if first != "" {
		fmt.Fprintf(progress, "   first refusal: %s\n", first)
	}
}

// ProcessRSS returns the resident memory of process pid in bytes, from /proc (Linux).
func ProcessRSS(pid int) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS of process %d: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("process %d has no VmRSS", pid)
}

func megabytes(bytes int64) float64 { return float64(bytes) / (1 << 20) }
