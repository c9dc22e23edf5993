package api

import (
	"fmt"
	"testing"
	"time"
)

func TestBucketSetForgetsIdleKeys(t *testing.T) {
	set := newBucketSet(Rate{Events: 1, Per: time.Second, Burst: 1}, 1000)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		set.take(fmt.Sprint(i), start)
	}
	set.take("late", start.Add(2*sweepEvery))
	if got := set.size(); got != 1 {
		t.Errorf("%d keys kept after they refilled, want 1", got)
	}
}

func TestBucketSetStaysWithinMaxKeys(t *testing.T) {
	set := newBucketSet(Rate{Events: 1, Per: time.Hour, Burst: 1}, 50)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		set.take(fmt.Sprint(i), now)
	}
	if got := set.size(); got > 50 {
		t.Errorf("%d keys kept, want at most 50", got)
	}
}

func TestBucketSetRefusalSpendsNothing(t *testing.T) {
	set := newBucketSet(Rate{Events: 1, Per: time.Minute, Burst: 1}, 10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := set.take("k", now); !ok {
		t.Fatal("first take refused")
	}
	for range 5 {
		if wait, ok := set.take("k", now); ok || wait != time.Minute {
			t.Fatalf("take on an empty bucket = %v, %v; want a refusal for a minute", wait, ok)
		}
	}
	if _, ok := set.take("k", now.Add(time.Minute)); !ok {
		t.Error("refusals pushed the next token back")
	}
}
