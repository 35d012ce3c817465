package core

import (
	"sync"
	"time"
)

// limiter is a fixed-window counter per key (login attempts per client address and per e-mail).
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	hits   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, per time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: per, now: now, hits: map[string]*window{}}
}

// Allow counts one attempt for key and reports whether it is within the limit, and if not, how long
// until the window resets.
func (l *limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > 10000 {
		for k, w := range l.hits {
			if now.Sub(w.start) > l.window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) > l.window {
		w = &window{start: now}
		l.hits[key] = w
	}
	w.n++
	if w.n > l.max {
		return false, w.start.Add(l.window).Sub(now)
	}
	return true, 0
}
