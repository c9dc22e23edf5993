package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
)

// intakeRounds is how many turns the intake and its baseline take (see RunPaired): enough
// to spread a neighbour's minute of compiling over both sides.
const intakeRounds = 6

// IntakeOptions size the intake scenario.
type IntakeOptions struct {
	Target      Target
	Requests    int
	Concurrency int
}

// Intake measures POST /api/v1/requests against the bare engine: a client starting a
// trivial workflow directly, on the same server at the same concurrency. The requests it
// opens are cancelled afterwards through the staff API, untimed, so they do not stay parked
// and weigh on later scenarios.
func Intake(o IntakeOptions) Scenario {
	return Scenario{Name: "intake", Run: func(ctx context.Context, progress io.Writer) ([]Figure, error) {
		w, err := startBaselineWorker(o.Target.Temporal)
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		start := func(ctx context.Context, _ int) error {
			_, err := o.Target.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: "bench-trivial-" + uuid.NewString(), TaskQueue: BaselineTaskQueue,
			}, TrivialWorkflow)
			return err
		}
		ids := make([]string, o.Concurrency+o.Requests)
		open := func(offset int) func(context.Context, int) error {
			return func(ctx context.Context, i int) error {
				var answer struct{ ID string }
				err := o.Target.call(ctx, http.MethodPost, "/api/v1/requests", "", map[string]any{
					"type": "review", "email": fmt.Sprintf("bench-intake-%d@example.net", offset+i), "jurisdiction": "gdpr",
				}, &answer)
				ids[offset+i] = answer.ID
				return err
			}
		}
		// A short warm-up of each opens connections and fills caches before timing.
		for _, warm := range []func(context.Context, int) error{start, open(0)} {
			if _, err := RunLoad(ctx, o.Concurrency, o.Concurrency, io.Discard, "warm-up", warm); err != nil {
				return nil, err
			}
		}
		base, got, err := RunPaired(ctx, o.Requests, o.Concurrency, intakeRounds, progress,
			"bare engine", start, "dsr intake", open(o.Concurrency))
		if err != nil {
			return nil, err
		}
		figs := append(base.Figures("bare engine", "starts/s"), got.Figures("dsr intake", "requests/s")...)
		figs = append(figs,
			Ratio("throughput vs bare engine", got.PerSecond(), base.PerSecond(), 0.8, false),
			Ratio("p99 latency vs bare engine", Percentile(got.Latencies, 99), Percentile(base.Latencies, 99), 2, true),
		)
		left := cancelAll(ctx, o.Target, ids, progress)
		figs = append(figs, Figure{Name: "requests left parked after clean-up", Value: float64(left), Unit: "requests"})
		return figs, nil
	}}
}

// cancelAll cancels the requests through the staff API, untimed, so they do not stay parked
// and weigh on later scenarios. It is best effort: a cancel the engine is too busy for is
// tried again a few times, and how many stayed open is returned.
func cancelAll(ctx context.Context, t Target, ids []string, progress io.Writer) int {
	fmt.Fprintf(progress, "   cancelling the %d requests opened (untimed)\n", len(ids))
	var left atomic.Int64
	_, err := RunLoad(ctx, len(ids), 8, io.Discard, "clean-up", func(ctx context.Context, i int) error {
		for try := range 3 {
			err := t.call(ctx, http.MethodPost, "/api/v1/admin/requests/"+ids[i]+"/cancel", t.AdminToken,
				map[string]string{"reason": "benchmark clean-up"}, nil)
			if err == nil {
				return nil
			}
			if sleep(ctx, time.Duration(try+1)*time.Second) != nil {
				break
			}
		}
		left.Add(1)
		return nil
	})
	if err != nil {
		fmt.Fprintf(progress, "   clean-up stopped: %v\n", err)
	}
	return int(left.Load())
}
