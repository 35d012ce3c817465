//go:build linux && cgo

package duckdb

/*
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <sys/types.h>

// DuckDB's Linux builds bundle jemalloc under the duckdb_je_ prefix. The reference is weak: a DuckDB
// built without it (a system libduckdb, another platform's library) leaves it NULL instead of failing
// the link.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// trib_je_decay sets the dirty and muzzy decay times of every jemalloc arena, and the default for
// arenas created later. It returns 0, ENOSYS without jemalloc, or the first mallctl error.
static int trib_je_decay(long ms) {
	if (duckdb_je_mallctl == NULL) {
		return ENOSYS;
	}
	ssize_t v = (ssize_t)ms;
	int err;
	if ((err = duckdb_je_mallctl("arenas.dirty_decay_ms", NULL, NULL, &v, sizeof v)) != 0) return err;
	if ((err = duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof v)) != 0) return err;
	unsigned n = 0;
	size_t sz = sizeof n;
	if ((err = duckdb_je_mallctl("arenas.narenas", &n, &sz, NULL, 0)) != 0) return err;
	for (unsigned i = 0; i < n; i++) {
		char name[64];
		// Arenas not yet initialised answer EFAULT; they take the default above when they are.
		snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", i);
		if ((err = duckdb_je_mallctl(name, NULL, NULL, &v, sizeof v)) != 0 && err != EFAULT) return err;
		snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", i);
		if ((err = duckdb_je_mallctl(name, NULL, NULL, &v, sizeof v)) != 0 && err != EFAULT) return err;
	}
	return 0;
}

// glibc's malloc_trim; weak like duckdb_je_mallctl, so a C library without it (musl) leaves it NULL.
extern int malloc_trim(size_t pad) __attribute__((weak));

// trib_malloc_trim returns the C heap's free pages to the system: 1 if it released memory, 0 if
// there was none, -1 without malloc_trim.
static int trib_malloc_trim(void) {
	if (malloc_trim == NULL) {
		return -1;
	}
	return malloc_trim(0);
}

// trib_je_dirty_decay reads the default dirty decay time, or -2 without jemalloc.
static long trib_je_dirty_decay(void) {
	ssize_t v = -2;
	size_t sz = sizeof v;
	if (duckdb_je_mallctl == NULL || duckdb_je_mallctl("arenas.dirty_decay_ms", &v, &sz, NULL, 0) != 0) {
		return -2;
	}
	return (long)v;
}
*/
import "C"

import (
	"fmt"
	"syscall"
	"time"
)

// setAllocatorDecay sets how long DuckDB's allocator (jemalloc) keeps freed pages before it returns
// them to the operating system, for the whole process. It reports false when this DuckDB has no
// jemalloc, or one whose controls have other names (TestAllocatorDecay fails then, rather than Open).
func setAllocatorDecay(d time.Duration) (bool, error) {
	switch rc := C.trib_je_decay(C.long(d.Milliseconds())); rc {
	case 0:
		return true, nil
	case C.ENOSYS, C.ENOENT:
		return false, nil
	default:
		return true, fmt.Errorf("duckdb: set allocator decay: %w", syscall.Errno(rc))
	}
}

// allocatorDecay reads the default decay time setAllocatorDecay sets, false without jemalloc.
func allocatorDecay() (time.Duration, bool) {
	v := C.trib_je_dirty_decay()
	return time.Duration(v) * time.Millisecond, v != -2
}

// trimCHeap hands the free pages of the C library's heap (glibc malloc) back to the system.
func trimCHeap() bool { return C.trib_malloc_trim() >= 0 }
