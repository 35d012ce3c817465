// Package metrics keeps the server's counters, gauges and latency histograms and writes them in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics. It is a few hundred lines instead of
// the Prometheus client library because the server needs only these three kinds, with labels, and no
// dependency tree.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBuckets are latency bounds in seconds, from half a millisecond (an ingest request) to ten
// seconds (a slow dashboard on a large site).
var DefaultBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Registry holds every metric family; the zero value is not usable, call New.
type Registry struct {
	mu       sync.Mutex
	families map[string]family
	order    []string
}

type family interface {
	write(w io.Writer, name string) error
}

// New returns an empty registry.
func New() *Registry { return &Registry{families: map[string]family{}} }

func (r *Registry) register(name string, f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		panic("metrics: " + name + " registered twice")
	}
	r.families[name] = f
	r.order = append(r.order, name)
}

// WriteText writes every family in registration order.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	names := append([]string(nil), r.order...)
	fams := make([]family, len(names))
	for i, n := range names {
		fams[i] = r.families[n]
	}
	r.mu.Unlock()
	for i, f := range fams {
		if err := f.write(w, names[i]); err != nil {
			return err
		}
	}
	return nil
}

// labelKey joins label values; values cannot contain the separator because it is not valid UTF-8 text.
const sep = "\xff"

func labelString(names []string, values []string, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escape(values[i]))
		b.WriteByte('"')
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if len(names) > 0 || i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extra[i])
		b.WriteString(`="`)
		b.WriteString(escape(extra[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return escaper.Replace(s) }

func header(w io.Writer, name, help, typ string) error {
	_, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, strings.ReplaceAll(help, "\n", " "), name, typ)
	return err
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// CounterVec is a family of counters told apart by label values.
type CounterVec struct {
	help   string
	labels []string
	mu     sync.RWMutex
	m      map[string]*atomic.Uint64
}

// Counter registers a counter family; labels may be empty for a single counter.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{help: help, labels: labels, m: map[string]*atomic.Uint64{}}
	r.register(name, c)
	return c
}

// Add increases the counter of the given label values (as many as the family's labels) by n.
func (c *CounterVec) Add(n uint64, values ...string) {
	if len(values) != len(c.labels) {
		panic(fmt.Sprintf("metrics: %d label values for %d labels", len(values), len(c.labels)))
	}
	lookup(&c.mu, c.m, values, func() *atomic.Uint64 { return &atomic.Uint64{} }).Add(n)
}

// Inc adds one.
func (c *CounterVec) Inc(values ...string) { c.Add(1, values...) }

// Value returns the current count of the label values (for tests and logs).
func (c *CounterVec) Value(values ...string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.m[strings.Join(values, sep)]; v != nil {
		return v.Load()
	}
	return 0
}

func (c *CounterVec) write(w io.Writer, name string) error {
	if err := header(w, name, c.help, "counter"); err != nil {
		return err
	}
	c.mu.RLock()
	keys := sortedKeys(c.m)
	vals := make([]uint64, len(keys))
	for i, k := range keys {
		vals[i] = c.m[k].Load()
	}
	c.mu.RUnlock()
	for i, k := range keys {
		if _, err := fmt.Fprintf(w, "%s%s %d\n", name, labelString(c.labels, split(k, len(c.labels))), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the series of the label values, creating it on first use; the read lock keeps the
// common case (an existing series) free of contention.
func lookup[T any](mu *sync.RWMutex, m map[string]*T, values []string, create func() *T) *T {
	k := strings.Join(values, sep)
	mu.RLock()
	v := m[k]
	mu.RUnlock()
	if v != nil {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	if v = m[k]; v == nil {
		v = create()
		m[k] = v
	}
	return v
}

func split(k string, n int) []string {
	if n == 0 {
		return nil
	}
	return strings.SplitN(k, sep, n)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// gaugeFunc reads its value when scraped, so queue lengths and memory are never stale.
type gaugeFunc struct {
	help string
	fn   func() float64
}

// GaugeFunc registers a gauge whose value fn returns at scrape time.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.register(name, &gaugeFunc{help: help, fn: fn})
}

func (g *gaugeFunc) write(w io.Writer, name string) error {
	if err := header(w, name, g.help, "gauge"); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s %s\n", name, formatFloat(g.fn()))
	return err
}

// HistogramVec is a family of latency histograms told apart by label values.
type HistogramVec struct {
	help    string
	labels  []string
	buckets []float64
	mu      sync.RWMutex
	m       map[string]*histogram
}

type histogram struct {
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// Histogram registers a histogram family with the given upper bounds (DefaultBuckets when nil).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DefaultBuckets
	}
	h := &HistogramVec{help: help, labels: labels, buckets: append([]float64(nil), buckets...), m: map[string]*histogram{}}
	sort.Float64s(h.buckets)
	r.register(name, h)
	return h
}

// Observe records one value (seconds, for latencies) under the label values.
func (h *HistogramVec) Observe(v float64, values ...string) {
	if len(values) != len(h.labels) {
		panic(fmt.Sprintf("metrics: %d label values for %d labels", len(values), len(h.labels)))
	}
	x := lookup(&h.mu, h.m, values, func() *histogram { return &histogram{counts: make([]uint64, len(h.buckets)+1)} })
	i := sort.SearchFloat64s(h.buckets, v) // first bound >= v: the bucket "le" includes its bound
	x.mu.Lock()
	x.counts[i]++
	x.sum += v
	x.count++
	x.mu.Unlock()
}

// Since records the time elapsed since start, in seconds.
func (h *HistogramVec) Since(start time.Time, values ...string) {
	h.Observe(time.Since(start).Seconds(), values...)
}

// Count returns how many values were observed under the label values (for tests).
func (h *HistogramVec) Count(values ...string) uint64 {
	h.mu.RLock()
	x := h.m[strings.Join(values, sep)]
	h.mu.RUnlock()
	if x == nil {
		return 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.count
}

func (h *HistogramVec) write(w io.Writer, name string) error {
	if err := header(w, name, h.help, "histogram"); err != nil {
		return err
	}
	h.mu.RLock()
	keys := sortedKeys(h.m)
	hs := make([]*histogram, len(keys))
	for i, k := range keys {
		hs[i] = h.m[k]
	}
	h.mu.RUnlock()
	for i, k := range keys {
		vals := split(k, len(h.labels))
		x := hs[i]
		x.mu.Lock()
		counts := append([]uint64(nil), x.counts...)
		sum, count := x.sum, x.count
		x.mu.Unlock()
		var cum uint64
		for j, le := range h.buckets {
			cum += counts[j]
			if _, err := fmt.Fprintf(w, "%s_bucket%s %d\n", name, labelString(h.labels, vals, "le", formatFloat(le)), cum); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "%s_bucket%s %d\n%s_sum%s %s\n%s_count%s %d\n",
			name, labelString(h.labels, vals, "le", "+Inf"), count,
			name, labelString(h.labels, vals), formatFloat(sum),
			name, labelString(h.labels, vals), count); err != nil {
			return err
		}
	}
	return nil
}
