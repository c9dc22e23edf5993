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
	// CPU is the CPU time each watched process used during the run, by name.
	CPU map[string]time.Duration
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

// RunPaired runs n calls of a and n calls of b in rounds that take turns, a first in even
// rounds and b first in odd ones. On a shared machine the background load changes by the
// minute, and each side leaves work behind (workflows still running) that slows whatever
// runs next; taking turns lays both on each side alike, where one run after the other laid
// them on one side only. Call indexes run over [0, n) on each side, as in RunLoad.
func RunPaired(ctx context.Context, n, concurrency, rounds int, progress io.Writer, labelA string, a func(context.Context, int) error, labelB string, b func(context.Context, int) error) (Load, Load, error) {
	return RunPairedWatching(ctx, nil, n, concurrency, rounds, progress, labelA, a, labelB, b)
}

// RunPairedWatching is RunPaired that also reads the CPU time each of watch used while each
// side ran, into the Loads' CPU.
func RunPairedWatching(ctx context.Context, watch []Process, n, concurrency, rounds int, progress io.Writer, labelA string, a func(context.Context, int) error, labelB string, b func(context.Context, int) error) (Load, Load, error) {
	rounds = max(min(rounds, n), 1)
	var sum [2]Load
	for s := range sum {
		sum[s].CPU = map[string]time.Duration{}
	}
	sides := [2]struct {
		label string
		call  func(context.Context, int) error
	}{{labelA, a}, {labelB, b}}
	for r := range rounds {
		lo, hi := r*n/rounds, (r+1)*n/rounds
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		line := fmt.Sprintf("   round %d/%d:", r+1, rounds)
		for _, s := range order {
			side := sides[s]
			before := cpuTimes(watch)
			l, err := RunLoad(ctx, hi-lo, concurrency, io.Discard, side.label, func(ctx context.Context, i int) error {
				return side.call(ctx, lo+i)
			})
			if err != nil {
				return Load{}, Load{}, err
			}
			for name, t := range cpuTimes(watch) {
				sum[s].CPU[name] += t - before[name]
			}
			sum[s].Latencies = append(sum[s].Latencies, l.Latencies...)
			sum[s].Wall += l.Wall
			line += fmt.Sprintf(" %s %d in %s (%.1f/s);", side.label, hi-lo, l.Wall.Round(time.Millisecond), l.PerSecond())
		}
		fmt.Fprintln(progress, line)
	}
	return sum[0], sum[1], nil
}
