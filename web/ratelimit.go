package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// keyLimiter is a token bucket per API key: capacity = the key's per-minute limit, refilled evenly
// over the minute. One mutex makes the count hold across connections and concurrent requests.
type keyLimiter struct {
	mu      sync.Mutex
	buckets map[string]*keyBucket
}

type keyBucket struct {
	tokens float64
	last   time.Time
}

func newKeyLimiter() *keyLimiter { return &keyLimiter{buckets: map[string]*keyBucket{}} }

// take consumes n tokens for key if available; it returns whether it did, the tokens left and the
// time until the bucket is full again (RateLimit-Reset) or until n tokens are back (Retry-After).
func (l *keyLimiter) take(key string, limit int, n int, now time.Time) (ok bool, remaining int, reset, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := float64(limit)
	rate := capacity / 60 // tokens per second
	b := l.buckets[key]
	if b == nil {
		b = &keyBucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*rate)
		b.last = now
	}
	need := float64(n)
	if b.tokens >= need {
		b.tokens -= need
		ok = true
	} else {
		retry = time.Duration((need - b.tokens) / rate * float64(time.Second))
	}
	reset = time.Duration((capacity - b.tokens) / rate * float64(time.Second))
	return ok, int(b.tokens), reset, retry
}

func setRateHeaders(h http.Header, limit, remaining int, reset time.Duration) {
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
}
