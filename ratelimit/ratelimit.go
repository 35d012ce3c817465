// Package ratelimit holds the per-API-key token bucket: capacity = the key's per-minute limit, refilled
// evenly over the minute. The arithmetic is one pure function so that the in-memory limiter (one node)
// and the store-backed one (several nodes sharing PostgreSQL) cannot drift apart.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Decision is the outcome of taking tokens.
type Decision struct {
	// OK tells whether the tokens were taken.
	OK bool
	// Remaining is the whole tokens left after the call.
	Remaining int
	// Reset is the time until the bucket is full again (RateLimit-Reset).
	Reset time.Duration
	// Retry is, when refused, the time until enough tokens are back (Retry-After).
	Retry time.Duration
}

// Bucket is the state of one key's bucket.
type Bucket struct {
	Tokens float64
	Last   time.Time
}

// Take refills b up to now and takes n tokens from it when there are enough; a zero bucket starts full.
func Take(b *Bucket, limit, n int, now time.Time) Decision {
	capacity := float64(limit)
	rate := capacity / 60 // tokens per second
	if b.Last.IsZero() {
		b.Tokens, b.Last = capacity, now
	}
	if el := now.Sub(b.Last).Seconds(); el > 0 {
		b.Tokens = math.Min(capacity, b.Tokens+el*rate)
		b.Last = now
	}
	var d Decision
	need := float64(n)
	if b.Tokens >= need {
		b.Tokens -= need
		d.OK = true
	} else {
		d.Retry = time.Duration((need - b.Tokens) / rate * float64(time.Second))
	}
	d.Reset = time.Duration((capacity - b.Tokens) / rate * float64(time.Second))
	d.Remaining = int(b.Tokens)
	return d
}

// Limiter takes tokens from the bucket of key.
type Limiter interface {
	TakeTokens(ctx context.Context, key string, limit, n int, now time.Time) (Decision, error)
}

// Memory is a Limiter for one process; several nodes need a shared one (the PostgreSQL MetaStore).
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*Bucket
}

// NewMemory returns an empty in-memory limiter.
func NewMemory() *Memory { return &Memory{buckets: map[string]*Bucket{}} }

// TakeTokens implements Limiter; it never fails.
func (m *Memory) TakeTokens(_ context.Context, key string, limit, n int, now time.Time) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	if b == nil {
		b = &Bucket{}
		m.buckets[key] = b
	}
	return Take(b, limit, n, now), nil
}
