package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Load is what one run of calls at a fixed concurrency measured.
type Load struct {
	Latencies []time.Duration
	Wall      time.Duration
}

// PerSecond is the run's throughput.
func (l Load) PerSecond() float64 {
	if l.Wall <= 0 {
		return 0
	}
	return float64(len(l.Latencies)) / l.Wall.Seconds()
}

// Figures names the run's throughput and latency percentiles, prefixed with who ran.
func (l Load) Figures(who, unit string) []Figure {
	return []Figure{
		{Name: who + " throughput", Value: l.PerSecond(), Unit: unit},
		{Name: who + " p50 latency", Value: Percentile(l.Latencies, 50), Unit: "ms"},
		{Name: who + " p95 latency", Value: Percentile(l.Latencies, 95), Unit: "ms"},
		{Name: who + " p99 latency", Value: Percentile(l.Latencies, 99), Unit: "ms"},
	}
}

// RunLoad calls call(i) for i in [0, n) from concurrency goroutines and times each call.
// The first error stops the run and is returned; progress gets a line every tenth of n.
func RunLoad(ctx context.Context, n, concurrency int, progress io.Writer, label string, call func(ctx context.Context, i int) error) (Load, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	latencies := make([]time.Duration, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	step := int64(max(n/10, 1))
	start := time.Now()
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := call(ctx, i); err != nil {
					cancel(fmt.Errorf("%s call %d: %w", label, i, err))
					return
				}
				latencies[i] = time.Since(t0)
				if d := done.Add(1); d%step == 0 {
					fmt.Fprintf(progress, "   %s: %d/%d in %s\n", label, d, n, time.Since(start).Round(time.Millisecond))
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return Load{}, err
	}
	return Load{Latencies: latencies, Wall: wall}, nil
}
