package bench

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// Each side makes every call once, and the sides take turns going first.
func TestRunPairedTakesTurnsAndCoversEveryCall(t *testing.T) {
	const n, rounds = 10, 4
	var mu sync.Mutex
	seen := map[string][]int{}
	var order []string
	record := func(side string) func(context.Context, int) error {
		return func(_ context.Context, i int) error {
			mu.Lock()
			defer mu.Unlock()
			if len(order) == 0 || order[len(order)-1] != side {
				order = append(order, side)
			}
			seen[side] = append(seen[side], i)
			return nil
		}
	}
	var progress strings.Builder
	a, b, err := RunPaired(context.Background(), n, 1, rounds, &progress, "a", record("a"), "b", record("b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Latencies) != n || len(b.Latencies) != n || a.Wall <= 0 || b.Wall <= 0 {
		t.Fatalf("loads: a %d calls in %s, b %d calls in %s; want %d each", len(a.Latencies), a.Wall, len(b.Latencies), b.Wall, n)
	}
	for side, got := range seen {
		for want, i := range got {
			if i != want {
				t.Fatalf("side %s called %v, want 0..%d once each in order", side, got, n-1)
			}
		}
	}
	// Rounds a-b, b-a, a-b, b-a: consecutive calls of one side merge into one turn.
	if got := strings.Join(order, ""); got != "ababa" {
		t.Errorf("turns %q, want ababa", got)
	}
	if lines := strings.Count(progress.String(), "\n"); lines != rounds {
		t.Errorf("progress has %d lines, want one per round (%d):\n%s", lines, rounds, progress.String())
	}
}

// The first failing call stops the run and comes back as the error.
func TestRunPairedStopsAtAFailure(t *testing.T) {
	ok := func(context.Context, int) error { return nil }
	fail := func(_ context.Context, i int) error {
		if i == 3 {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	if _, _, err := RunPaired(context.Background(), 8, 2, 2, io.Discard, "a", ok, "b", fail); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("err = %v, want the failing call's error", err)
	}
}
