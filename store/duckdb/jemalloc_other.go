//go:build !linux || !cgo

package duckdb

import "time"

// setAllocatorDecay does nothing where DuckDB does not bundle jemalloc (only its Linux builds do).
func setAllocatorDecay(time.Duration) (bool, error) { return false, nil }

// allocatorDecay reports no jemalloc.
func allocatorDecay() (time.Duration, bool) { return 0, false }

// trimCHeap does nothing here.
func trimCHeap() bool { return false }
