package ingest

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// IPLimiter is a token bucket per client address. The defaults (burst 300, 30 events/s sustained) are
// generous because whole offices and mobile carriers share one address behind NAT; the limit exists to
// stop floods, not to meter real visitors.
type IPLimiter struct {
	rate   float64 // tokens per second
	burst  float64
	shards [32]limShard
	seed   maphash.Seed
}

type limShard struct {
	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewIPLimiter returns a limiter allowing perSecond events sustained and burst at once per address.
func NewIPLimiter(perSecond, burst float64) *IPLimiter {
	l := &IPLimiter{rate: perSecond, burst: burst, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[netip.Addr]*bucket{}
	}
	return l
}

// Allow takes one token for ip at time now.
func (l *IPLimiter) Allow(ip netip.Addr, now time.Time) bool {
	b16 := ip.As16()
	sh := &l.shards[maphash.Bytes(l.seed, b16[:])%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[ip]
	if b == nil {
		if len(sh.buckets) > 50_000 {
			// Forget idle addresses rather than grow without bound under a spray of sources.
			for k, v := range sh.buckets {
				if now.Sub(v.last) > time.Minute {
					delete(sh.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		sh.buckets[ip] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
