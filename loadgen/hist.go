package loadgen

import (
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets, HDR-style: exact below 128 ns, then 64 buckets per
// power of two, so a reported quantile is within 1/64 (1.6%) of the true value, in a fixed 30 KiB, with
// no allocation per record. One per worker; merged at the end.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

const (
	histSubBits = 7
	histHalf    = 1 << (histSubBits - 1) // 64
	histBuckets = (64-histSubBits+1)*histHalf + histHalf
)

func histIndex(v uint64) int {
	if v < 2*histHalf {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits
	return shift*histHalf + int(v>>shift)
}

// histLow is the smallest value of bucket i; histHigh the largest.
func histLow(i int) uint64 {
	if i < 2*histHalf {
		return uint64(i)
	}
	shift := i/histHalf - 1
	top := uint64(i - shift*histHalf)
	return top << shift
}

func histHigh(i int) uint64 {
	if i < 2*histHalf {
		return uint64(i)
	}
	shift := i/histHalf - 1
	return histLow(i) + (1 << shift) - 1
}

func (h *histogram) record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[histIndex(v)]++
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value at quantile q (0 < q ≤ 1): the midpoint of the bucket holding the
// ceil(q·n)-th smallest value, never above the maximum seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := (histLow(i) + histHigh(i)) / 2
			if v > h.max {
				v = h.max
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
