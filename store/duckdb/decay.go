package duckdb

import (
	"sync"
	"time"
)

// Freed pages and writes. Under full-speed ingest each write frees and reallocates tens of MB within
// a fraction of a second (the visits derivation's temporary tables); with jemalloc's decay those pages
// stayed in the process, 100–150 MB above DuckDB's own accounting, so a store with a memory limit
// writes with a decay of 0: freed pages go back to the system at once. Queries pay for a decay of 0
// too (each allocation faults fresh pages in: the dashboard at 10M events took 1.5× the CPU,
// docs/benchmarks.md), so the decay is 0 only while a write runs and is put back when the last
// concurrent write ends. The decay is the process's (one allocator), hence the package-level count.
// DuckDB's jemalloc keeps dirty and muzzy pages for the same time, so the dirty decay read before a
// write is put back as both.
var lean struct {
	mu      sync.Mutex
	writers int
	idle    time.Duration // the decay before the first write in flight set 0
	set     bool          // whether that write did set it
}

// queryDecay is the decay a store that writes lean sets at Open, for everything but its writes. DuckDB's
// own, 1 s, handed a page's working memory back between two clicks of a user, and the next page faulted
// it in again: at 10M events, three seconds after the last query, the dashboard took 152–166 ms and a
// breakdown 55–66 ms (87–92 and 28–29 ms back to back); with this decay, 86–97 and 31–33 ms. What
// stays resident for it is a page's freed memory, 30–55 MB at 10M, handed back once queries have
// paused for the decay (docs/benchmarks.md). Writes still run at 0.
const queryDecay = 30 * time.Second

// leanWrite runs fn with the allocator's decay at 0 when the store writes lean (a memory limit, and no
// DUCKDB_JE_MALLOC_CONF), and restores the decay after the last write in flight. The events writes and
// the background rebuild of the visits by day run through it.
func (s *Store) leanWrite(fn func() error) error {
	if !s.leanWrites {
		return fn()
	}
	lean.mu.Lock()
	if lean.writers == 0 {
		lean.idle, lean.set = allocatorDecay()
		if lean.set {
			// A failure leaves the decay as it was: writes are as lean as before this store, no worse.
			lean.set, _ = setAllocatorDecay(0)
		}
	}
	lean.writers++
	lean.mu.Unlock()
	defer func() {
		lean.mu.Lock()
		lean.writers--
		if lean.writers == 0 && lean.set {
			setAllocatorDecay(lean.idle)
		}
		lean.mu.Unlock()
	}()
	if duringLeanWrite != nil {
		duringLeanWrite()
	}
	return fn()
}

// duringLeanWrite, when set by a test, runs inside leanWrite before the write.
var duringLeanWrite func()
