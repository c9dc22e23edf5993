package faults

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// settings size a run.
type settings struct {
	people      int           // persons given rows before the load starts
	every       time.Duration // a new request this often…
	maxInFlight int           // …unless this many are open
	flowTimeout time.Duration // one request's time from intake to its end, faults included
	outage      func(kind string) time.Duration
}

// run is the load and the faults on one cluster, with what was found.
type run struct {
	t   *testing.T
	c   *cluster
	d   *driver
	k   *checker
	set settings
	tag string // in every address of the run
	// seeded is how many persons have rows from the start; later ones are seeded by their flow.
	seeded int

	mu         sync.Mutex
	flows      []*flow
	checked    int // flows[:checked] have been checked
	inFlight   int
	wg         sync.WaitGroup
	violations []string
	injected   map[string]int
	recovery   map[string][]time.Duration
}

func newRun(t *testing.T, set settings) *run {
	c := startCluster(t)
	app, err := pgxpool.New(t.Context(), c.appURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	d := &driver{c: c, mail: newMailbox(c.dir + "/mail"), flowTimeout: set.flowTimeout}
	tag := randomHex(3)
	if err := seedPeople(t.Context(), c.stores, set.people, tag); err != nil {
		t.Fatalf("seed %d persons: %v", set.people, err)
	}
	return &run{t: t, c: c, d: d, k: &checker{c: c, d: d, app: app, wait: 2 * time.Minute}, set: set, tag: tag, seeded: set.people,
		injected: map[string]int{}, recovery: map[string][]time.Duration{}}
}

// load opens requests at the fixed rate until ctx ends, each type in turn, alternating APIs.
func (r *run) load(ctx context.Context) {
	tick := time.NewTicker(r.set.every)
	defer tick.Stop()
	for {
		r.mu.Lock()
		open := r.inFlight
		r.mu.Unlock()
		if open < r.set.maxInFlight {
			r.start(nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// start opens the next request of the load in the background.
func (r *run) start(hook intakeHook) *flow {
	r.mu.Lock()
	n := len(r.flows) + 1
	f := &flow{n: n, typ: requestTypes[(n-1)%len(requestTypes)], person: newPerson(n, r.tag), seeded: n <= r.seeded,
		clientIP: fmt.Sprintf("10.%d.%d.%d", n/65536%256, n/256%256, n%256)}
	f.done = make(chan struct{})
	r.flows = append(r.flows, f)
	r.inFlight++
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.d.run(context.Background(), f, hook)
		close(f.done)
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	return f
}

// open returns the flows not settled yet.
func (r *run) open() []*flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*flow
	for _, f := range r.flows {
		if !f.ended() {
			out = append(out, f)
		}
	}
	return out
}

// settle waits until the given flows have ended (each bounds itself by the flow timeout)
// and returns when the last did.
func (r *run) settle(flows []*flow) time.Time {
	deadline := time.After(r.set.flowTimeout + time.Minute)
	var last time.Time
	for _, f := range flows {
		select {
		case <-f.done:
			if f.settled.After(last) {
				last = f.settled
			}
		case <-deadline:
			r.violation(fmt.Sprintf("flow %d (%s) did not end within its own timeout", f.n, f.typ))
			return time.Now()
		}
	}
	return last
}

func (r *run) violation(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, s)
	r.t.Errorf("invariant broken: %s", s)
}

// inject runs one fault: it waits for requests to be in flight, breaks something, lets the
// cluster recover, and checks every request that settled meanwhile.
func (r *run) inject(ctx context.Context, kind string) {
	r.waitForLoad()
	outage := r.set.outage(kind)
	began := time.Now()
	r.t.Logf("%s: fault %s (outage %s), %d requests open", began.Format("15:04:05"), kind, outage, len(r.open()))
	if err := faults[kind](ctx, r, outage); err != nil {
		r.violation(fmt.Sprintf("fault %s could not be injected or undone: %v", kind, err))
		return
	}
	if out, err := r.c.script("start"); err != nil {
		r.violation(fmt.Sprintf("after fault %s the cluster did not start again: %v\n%s", kind, err, out))
	} else if restarted := restartedProcesses(out); len(restarted) > 0 {
		r.t.Logf("after fault %s a re-run of start restarted %v", kind, restarted)
	}
	ended := time.Now()
	// Recovered: every request open when the fault ended has ended, and one opened after it.
	fresh := r.start(nil)
	last := r.settle(append(r.open(), fresh))
	r.mu.Lock()
	r.injected[kind]++
	r.recovery[kind] = append(r.recovery[kind], max(last.Sub(ended), 0))
	r.mu.Unlock()
	r.t.Logf("fault %s: recovered %s after the outage ended (%s after it began)", kind, last.Sub(ended).Round(100*time.Millisecond), last.Sub(began).Round(100*time.Millisecond))
	r.checkSettled(ctx)
}

// waitForLoad makes sure the fault meets requests in flight.
func (r *run) waitForLoad() {
	for deadline := time.Now().Add(time.Minute); len(r.open()) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatal("no request in flight for a minute: the load stopped")
		}
	}
}

// checkSettled checks the flows that have ended since the last check, and the audit chain.
func (r *run) checkSettled(ctx context.Context) {
	r.mu.Lock()
	var todo []*flow
	for _, f := range r.flows[r.checked:] {
		if !f.ended() {
			break
		}
		todo = append(todo, f)
	}
	r.checked += len(todo)
	r.mu.Unlock()
	for _, f := range todo {
		for _, err := range r.k.check(ctx, f) {
			r.violation(err.Error())
		}
	}
	if err := retry(ctx, time.Second, r.c.verifyAuditLog); err != nil {
		r.violation(err.Error())
	}
}

// finish stops nothing but waits for every flow and checks them all.
func (r *run) finish(ctx context.Context) {
	r.settle(r.open())
	r.wg.Wait()
	r.checkSettled(ctx)
	r.mu.Lock()
	if r.checked != len(r.flows) {
		r.t.Errorf("%d of %d requests were checked", r.checked, len(r.flows))
	}
	ours := map[string]bool{}
	for _, f := range r.flows {
		ours[f.id] = true
	}
	r.mu.Unlock()
	r.checkEveryRequest(ctx, ours)
}

// checkEveryRequest looks at every request the database holds, the load's and any an
// intake opened without its 202 reaching the driver: none may be left running, and one
// that needs attention must say why.
func (r *run) checkEveryRequest(ctx context.Context, ours map[string]bool) {
	rows, err := r.k.app.Query(ctx, `SELECT id, status, status_reason || coalesce((SELECT string_agg(store || ': ' || error, '; ')
		FROM store_results s WHERE s.request_id = requests.id AND s.state = 'failed' AND s.error <> ''), '') FROM requests`)
	if err != nil {
		r.violation(fmt.Sprintf("list requests: %v", err))
		return
	}
	defer rows.Close()
	unanswered := 0
	for rows.Next() {
		var id, status, reason string
		if err := rows.Scan(&id, &status, &reason); err != nil {
			r.violation(fmt.Sprintf("list requests: %v", err))
			return
		}
		if !ours[id] {
			unanswered++
		}
		switch {
		case status == "needs_attention" && reason == "":
			r.violation(fmt.Sprintf("request %s needs attention and says not why", id))
		case status == "received" || status == "in_progress":
			r.violation(fmt.Sprintf("request %s is still %s after the load ended", id, status))
		case !ours[id] && status != "awaiting_email_verification":
			r.violation(fmt.Sprintf("request %s, opened by an intake whose answer was lost, is %s", id, status))
		}
	}
	if err := rows.Err(); err != nil {
		r.violation(fmt.Sprintf("list requests: %v", err))
	}
	if unanswered > 0 {
		r.t.Logf("%d request(s) were opened by an intake whose answer never reached the requester; they wait for a code nobody asked for", unanswered)
	}
}

func restartedProcesses(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(line, "local-cluster: "); ok && strings.Contains(name, " started (pid") {
			names = append(names, name[:strings.Index(name, " ")])
		}
	}
	return names
}

// summary is the long run's table: requests, faults per kind, violations and the p99 time
// to recover after each kind.
func (r *run) summary(elapsed time.Duration) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	completed, waiting := 0, 0
	for _, f := range r.flows {
		if !f.ended() {
			continue
		}
		if f.status == "completed" {
			completed++
		} else if f.accepted {
			waiting++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s: %d requests (%d completed, %d ended waiting), %d invariant violations\n\n",
		elapsed.Round(time.Second), len(r.flows), completed, waiting, len(r.violations))
	fmt.Fprintln(&b, "| fault | injected | p50 recovery | p99 recovery | max recovery |")
	fmt.Fprintln(&b, "| --- | ---: | ---: | ---: | ---: |")
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range faults {
			if !yield(k) {
				return
			}
		}
	})
	for _, kind := range kinds {
		d := append([]time.Duration(nil), r.recovery[kind]...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		// Nearest rank: with few samples the p99 is the worst one, as it should be.
		pct := func(p float64) string {
			if len(d) == 0 {
				return "–"
			}
			return d[int(math.Ceil(p*float64(len(d))))-1].Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", kind, r.injected[kind], pct(0.5), pct(0.99), pct(1))
	}
	return b.String()
}

// The short run, part of the normal test command: each fault once, outages of seconds.
func TestFaultsEachOnceKeepEveryInvariant(t *testing.T) {
	r := newRun(t, settings{people: 500, every: 1500 * time.Millisecond, maxInFlight: 5, flowTimeout: 3 * time.Minute,
		outage: func(string) time.Duration { return 5 * time.Second }})
	began := time.Now()
	ctx, stop := context.WithCancel(t.Context())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); r.load(ctx) }()
	for _, kind := range faultOrder {
		r.inject(t.Context(), kind)
	}
	stop()
	<-loadDone
	r.finish(t.Context())
	t.Logf("\n%s", r.summary(time.Since(began)))
}

// The long run: faults at random, outages up to two minutes, for DSR_FAULTS_LONG (at most
// 2h). Without it the test does not run: it is not part of the normal test command.
func TestFaultsLongRun(t *testing.T) {
	spec := os.Getenv("DSR_FAULTS_LONG")
	if spec == "" {
		t.Skip("set DSR_FAULTS_LONG=30m (at most 2h) for the long fault run")
	}
	length, err := time.ParseDuration(spec)
	if err != nil || length <= 0 || length > 2*time.Hour {
		t.Fatalf("DSR_FAULTS_LONG=%q: want a duration up to 2h", spec)
	}
	r := newRun(t, settings{people: int(length/time.Second) + 200, every: 2 * time.Second, maxInFlight: 6, flowTimeout: 8 * time.Minute,
		outage: func(kind string) time.Duration {
			switch kind {
			case "smtp-down", "store-unreachable":
				return time.Duration(10+rand.IntN(110)) * time.Second
			case "store-slow":
				return time.Duration(5+rand.IntN(25)) * time.Second
			}
			return 0
		}})
	began := time.Now()
	ctx, stop := context.WithCancel(t.Context())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); r.load(ctx) }()
	// Faults come in rounds, each kind once per round in a random order, so that every kind
	// is met however short the run.
	var round []string
	for time.Since(began) < length {
		if len(round) == 0 {
			round = slices.Clone(faultOrder)
			rand.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		}
		kind := round[0]
		round = round[1:]
		r.inject(t.Context(), kind)
		// Some quiet time between faults, so each meets the load in its steady state.
		if err := pause(t.Context(), time.Duration(5+rand.IntN(25))*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	<-loadDone
	r.finish(t.Context())
	fmt.Printf("\n%s\n", r.summary(time.Since(began)))
}
