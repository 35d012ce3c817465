package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestTake(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var b Bucket
	steps := []struct {
		at        time.Duration
		n         int
		ok        bool
		remaining int
		retry     time.Duration
	}{
		{0, 50, true, 10, 0},                 // starts full at 60 (1/s)
		{0, 20, false, 10, 10 * time.Second}, // 10 left, 20 needed: 10 s
		{5 * time.Second, 15, true, 0, 0},    // refilled 5
		{10 * time.Minute, 1, true, 59, 0},   // capped at capacity
	}
	for i, s := range steps {
		d := Take(&b, 60, s.n, t0.Add(s.at))
		if d.OK != s.ok || d.Remaining != s.remaining || d.Retry != s.retry {
			t.Fatalf("step %d: %+v, want ok=%v remaining=%d retry=%v", i, d, s.ok, s.remaining, s.retry)
		}
	}
	if d := Take(&b, 60, 0, t0.Add(10*time.Minute)); d.Reset != time.Second {
		t.Fatalf("reset %v, want 1s (one token short of full)", d.Reset)
	}
}

func TestMemoryConcurrentHoldsLimit(t *testing.T) {
	m := NewMemory()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := m.TakeTokens(context.Background(), "k", 100, 1, now)
			if d.OK {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 100 {
		t.Fatalf("granted %d of 200 at one instant, want exactly the limit 100", granted)
	}
}
