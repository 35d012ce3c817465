package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary/tributary"
)

// DriverOptions configures a Driver. Zero values take the defaults noted.
type DriverOptions struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080. Only loopback hosts are accepted unless
	// AllowRemote is set: a load generator must not be pointed at someone else's server by mistake.
	BaseURL     string
	AllowRemote bool
	// Rate is the target in requests a second (0: as fast as the workers go). Burst is how many
	// requests may go at once after a pause (default 1% of Rate, at least 1).
	Rate  float64
	Burst int
	// Concurrency is the number of requests in flight at most (default 16).
	Concurrency int
	// Count and Duration bound the run (0: unbounded); the run also ends when the source is exhausted
	// or the context is cancelled, whichever comes first.
	Count    int64
	Duration time.Duration
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// Forwarded sends each browser event's client address as X-Forwarded-For, so geo varies; the
	// server believes it only when it trusts the loopback proxy (--trusted-proxies=127.0.0.1).
	Forwarded bool
	// Backfill sends each browser event's scenario time as X-Tributary-Backfill-Time; the server accepts
	// it only with the admin token, sent as the bearer of those requests.
	Backfill   bool
	AdminToken string
	// MaxRetries is how often a request answered 503 or 429 is retried after the server's Retry-After
	// (default 5; negative: never). MaxBackoff caps one wait (default 10s).
	MaxRetries int
	MaxBackoff time.Duration
	// Client replaces the tuned loopback client (tests).
	Client *http.Client
	// Now is the clock for Stripe signatures (default time.Now).
	Now func() time.Time
}

// Driver sends requests to one server.
type Driver struct {
	opt    DriverOptions
	base   *url.URL
	client *http.Client
	// pauseUntil (unix nanoseconds) holds every sender back after a 503 or 429.
	pauseUntil atomic.Int64
}

// CheckBaseURL parses a base URL and refuses anything but http(s) to a loopback host, unless
// allowRemote is set.
func CheckBaseURL(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tributary.FieldError("url", "url %q is not an http(s) base URL such as http://127.0.0.1:8080", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, tributary.FieldError("url", "url %q must be a plain base URL without query, fragment or credentials", raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, tributary.FieldError("url", "url %q is not a loopback address; pass --allow-remote to load a remote server on purpose", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewDriver validates opt and builds a driver with a keep-alive client tuned for loopback.
func NewDriver(opt DriverOptions) (*Driver, error) {
	base, err := CheckBaseURL(opt.BaseURL, opt.AllowRemote)
	if err != nil {
		return nil, fmt.Errorf("loadgen: driver: %w", err)
	}
	if opt.Rate < 0 || opt.Count < 0 || opt.Duration < 0 || opt.Concurrency < 0 {
		return nil, tributary.Errorf(tributary.EINVALID, "loadgen: rate, count, duration and concurrency must not be negative")
	}
	if opt.Concurrency == 0 {
		opt.Concurrency = 16
	}
	if opt.Burst <= 0 {
		opt.Burst = max(1, int(opt.Rate/100))
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 5
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	d := &Driver{opt: opt, base: base, client: opt.Client}
	if d.client == nil {
		d.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               nil, // never through a proxy from the environment
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        opt.Concurrency,
				MaxIdleConnsPerHost: opt.Concurrency,
				MaxConnsPerHost:     opt.Concurrency,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
				ForceAttemptHTTP2:   false,
			},
		}
	}
	// Requests go to the base URL only: a redirect elsewhere is answered as it is, never followed.
	c := *d.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = opt.Timeout
	d.client = &c
	return d, nil
}

// Stop reasons in Report.StopReason.
const (
	StopCount     = "count"
	StopDuration  = "duration"
	StopExhausted = "exhausted"
	StopCanceled  = "canceled"
)

// Latency summarises request latencies in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// KindReport counts one kind of request.
type KindReport struct {
	Requests int64            `json:"requests"`
	Status   map[string]int64 `json:"status"`
}

// Report is the outcome of a run.
type Report struct {
	BaseURL     string    `json:"base_url"`
	Started     time.Time `json:"started"`
	Elapsed     float64   `json:"elapsed_seconds"`
	StopReason  string    `json:"stop_reason"`
	TargetRate  float64   `json:"target_rate"` // 0: unpaced
	Concurrency int       `json:"concurrency"`
	// Requests counts requests finished with a final answer or error; Attempts includes retries.
	Requests int64   `json:"requests"`
	Attempts int64   `json:"attempts"`
	Rate     float64 `json:"rate"` // Requests per second achieved
	Latency  Latency `json:"latency_ms"`
	// Status counts final HTTP statuses ("202": n); Kinds splits them by request kind.
	Status map[string]int64       `json:"status"`
	Kinds  map[string]*KindReport `json:"kinds"`
	// Dropped counts X-Tributary-Dropped reasons of browser events.
	Dropped map[string]int64 `json:"dropped"`
	// Backoffs counts 503 and 429 answers that made the driver wait; Retries the requests re-sent.
	Backoffs     int64    `json:"backoffs"`
	Retries      int64    `json:"retries"`
	Errors       int64    `json:"errors"` // transport errors (no HTTP answer)
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Stored is what the server stored, with its buffer drained (nil when not measured: without browser
	// events, with --bare or --drain-wait 0, or when the server's /metrics did not answer).
	Stored *Stored `json:"stored,omitempty"`
}

// Failed reports whether any request ended in a transport error or an HTTP status of 400 or more.
func (r *Report) Failed() bool {
	if r.Errors > 0 {
		return true
	}
	for s, n := range r.Status {
		if n > 0 && s >= "400" {
			return true
		}
	}
	return false
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "target      %s\n", r.BaseURL)
	pace := "unpaced"
	if r.TargetRate > 0 {
		pace = fmt.Sprintf("target %.0f/s", r.TargetRate)
	}
	fmt.Fprintf(&b, "requests    %d in %.2fs = %.1f/s (%s, concurrency %d, stopped: %s)\n",
		r.Requests, r.Elapsed, r.Rate, pace, r.Concurrency, r.StopReason)
	fmt.Fprintf(&b, "latency ms  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Mean)
	fmt.Fprintf(&b, "status      %s\n", counts(r.Status))
	for _, k := range sortedKeys(r.Kinds) {
		fmt.Fprintf(&b, "  %-9s %d: %s\n", k, r.Kinds[k].Requests, counts(r.Kinds[k].Status))
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(&b, "dropped     %s\n", counts(r.Dropped))
	}
	if st := r.Stored; st != nil {
		drain := "the buffer drained"
		if !st.Drained {
			drain = fmt.Sprintf("loadgen gave up waiting, %d events still held", st.Held)
		}
		fmt.Fprintf(&b, "stored      %d events in %.2fs = %.1f/s (from the start until %s; identify calls are identities, not counted)\n", st.Events, st.Seconds, st.Rate, drain)
	}
	if r.Backoffs > 0 || r.Retries > 0 {
		fmt.Fprintf(&b, "backoff     %d answers 503/429, %d retries\n", r.Backoffs, r.Retries)
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "errors      %d\n", r.Errors)
		for _, e := range r.ErrorSamples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// workerStats is one worker's tally, merged after the run so workers never share a lock.
type workerStats struct {
	hist     histogram
	requests int64
	attempts int64
	backoffs int64
	retries  int64
	errors   int64
	status   map[string]int64
	kinds    map[string]*KindReport
	dropped  map[string]int64
	samples  []string
}

// Run sends the requests of src, paced and bounded as configured, and reports. It returns an error
// only when it could not run at all; failed requests are counted in the report.
func (d *Driver) Run(ctx context.Context, src iter.Seq[*Request]) (*Report, error) {
	if src == nil {
		return nil, errors.New("loadgen: run: no request source")
	}
	start := time.Now()
	// stopCtx ends the sending of new requests at the deadline; in-flight requests keep ctx so they
	// finish and are counted.
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	if d.opt.Duration > 0 {
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithDeadline(stopCtx, start.Add(d.opt.Duration))
		defer cancel()
	}
	jobs := make(chan *Request)
	stats := make([]*workerStats, d.opt.Concurrency)
	var wg sync.WaitGroup
	for i := range stats {
		st := &workerStats{status: map[string]int64{}, kinds: map[string]*KindReport{}, dropped: map[string]int64{}}
		stats[i] = st
		wg.Go(func() {
			for r := range jobs {
				d.do(ctx, stopCtx, r, st)
			}
		})
	}
	reason := d.produce(stopCtx, src, jobs)
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		reason = StopCanceled
	}
	elapsed := time.Since(start)
	rep := &Report{BaseURL: d.base.String(), Started: start.UTC(), Elapsed: elapsed.Seconds(), StopReason: reason,
		TargetRate: d.opt.Rate, Concurrency: d.opt.Concurrency, Status: map[string]int64{},
		Kinds: map[string]*KindReport{}, Dropped: map[string]int64{}}
	var h histogram
	seen := map[string]bool{}
	for _, st := range stats {
		h.merge(&st.hist)
		rep.Requests += st.requests
		rep.Attempts += st.attempts
		rep.Backoffs += st.backoffs
		rep.Retries += st.retries
		rep.Errors += st.errors
		for k, n := range st.status {
			rep.Status[k] += n
		}
		for k, n := range st.dropped {
			rep.Dropped[k] += n
		}
		for k, kr := range st.kinds {
			dst := rep.Kinds[k]
			if dst == nil {
				dst = &KindReport{Status: map[string]int64{}}
				rep.Kinds[k] = dst
			}
			dst.Requests += kr.Requests
			for s, n := range kr.Status {
				dst.Status[s] += n
			}
		}
		for _, s := range st.samples {
			if !seen[s] && len(rep.ErrorSamples) < 10 {
				seen[s] = true
				rep.ErrorSamples = append(rep.ErrorSamples, s)
			}
		}
	}
	if elapsed > 0 {
		rep.Rate = float64(rep.Requests) / elapsed.Seconds()
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	rep.Latency = Latency{P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)),
		Max: ms(time.Duration(h.max))}
	if h.n > 0 {
		rep.Latency.Mean = ms(time.Duration(h.sum / h.n))
	}
	return rep, nil
}

// produce hands requests to the workers at the target rate: a token bucket refilled at Rate up to
// Burst, held back while the server asked for a pause.
func (d *Driver) produce(ctx context.Context, src iter.Seq[*Request], jobs chan<- *Request) string {
	var sent int64
	tokens := float64(d.opt.Burst)
	last := time.Now()
	reason := StopExhausted
	for r := range src {
		if err := d.waitPause(ctx); err != nil {
			reason = d.ctxReason(ctx)
			break
		}
		if d.opt.Rate > 0 {
			now := time.Now()
			tokens = min(float64(d.opt.Burst), tokens+now.Sub(last).Seconds()*d.opt.Rate)
			last = now
			if tokens < 1 {
				wait := time.Duration((1 - tokens) / d.opt.Rate * float64(time.Second))
				if !sleep(ctx, wait) {
					reason = d.ctxReason(ctx)
					break
				}
				now = time.Now()
				tokens = min(float64(d.opt.Burst), tokens+now.Sub(last).Seconds()*d.opt.Rate)
				last = now
			}
			tokens--
		}
		select {
		case jobs <- r:
			sent++
		case <-ctx.Done():
			return d.ctxReason(ctx)
		}
		// Checked after sending so an endless source is not asked for one request too many.
		if d.opt.Count > 0 && sent >= d.opt.Count {
			return StopCount
		}
		if ctx.Err() != nil {
			return d.ctxReason(ctx)
		}
	}
	return reason
}

func (d *Driver) ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return StopDuration
	}
	return StopCanceled
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d *Driver) waitPause(ctx context.Context) error {
	for {
		until := d.pauseUntil.Load()
		wait := time.Until(time.Unix(0, until))
		if until == 0 || wait <= 0 {
			return ctx.Err()
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// pause holds every sender back for wait.
func (d *Driver) pause(wait time.Duration) {
	until := time.Now().Add(wait).UnixNano()
	for {
		cur := d.pauseUntil.Load()
		if cur >= until || d.pauseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date); without one the wait doubles from 100 ms.
func (d *Driver) retryAfter(h string, attempt int) time.Duration {
	wait := time.Duration(100<<min(attempt, 10)) * time.Millisecond
	if h = strings.TrimSpace(h); h != "" {
		if s, err := strconv.Atoi(h); err == nil && s >= 0 {
			wait = time.Duration(min(s, 86400)) * time.Second
		} else if t, err := http.ParseTime(h); err == nil {
			wait = time.Until(t)
		}
	}
	return min(max(wait, 10*time.Millisecond), d.opt.MaxBackoff)
}

func (d *Driver) newRequest(ctx context.Context, r *Request) (*http.Request, error) {
	if !strings.HasPrefix(r.Path, "/") || strings.HasPrefix(r.Path, "//") {
		return nil, fmt.Errorf("request path %q is not an absolute path", r.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base.String()+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	if req.URL.Host != d.base.Host {
		return nil, fmt.Errorf("request path %q leaves the base URL", r.Path)
	}
	h := req.Header
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	}
	if r.UserAgent != "" {
		h.Set("User-Agent", r.UserAgent)
	}
	if r.Bearer != "" {
		h.Set("Authorization", "Bearer "+r.Bearer)
	}
	if r.StripeSecret != "" {
		h.Set("Stripe-Signature", Sign(r.StripeSecret, r.Body, d.opt.Now()))
	}
	if r.Kind == KindEvent {
		if d.opt.Forwarded && r.ClientIP != "" {
			h.Set("X-Forwarded-For", r.ClientIP)
		}
		if d.opt.Backfill && !r.At.IsZero() {
			h.Set(HeaderBackfill, r.At.UTC().Format(time.RFC3339Nano))
			if d.opt.AdminToken != "" {
				h.Set("Authorization", "Bearer "+d.opt.AdminToken)
			}
		}
	}
	return req, nil
}

// do sends one request, retrying 503 and 429 after the server's Retry-After.
func (d *Driver) do(ctx, stopCtx context.Context, r *Request, st *workerStats) {
	kr := st.kinds[r.Kind]
	if kr == nil {
		kr = &KindReport{Status: map[string]int64{}}
		st.kinds[r.Kind] = kr
	}
	for attempt := 0; ; attempt++ {
		req, err := d.newRequest(ctx, r)
		if err != nil {
			st.fail(kr, err)
			return
		}
		t0 := time.Now()
		resp, err := d.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return // cancelled: not an error of the server
			}
			st.attempts++
			st.hist.record(time.Since(t0))
			st.fail(kr, err)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		st.attempts++
		st.hist.record(time.Since(t0))
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			// The server is full or the key is over its limit: everyone waits, then this one retries.
			st.backoffs++
			d.pause(d.retryAfter(resp.Header.Get("Retry-After"), attempt))
			if d.opt.MaxRetries > 0 && attempt < d.opt.MaxRetries && d.waitPause(stopCtx) == nil {
				st.retries++
				continue
			}
		}
		code := strconv.Itoa(resp.StatusCode)
		st.requests++
		kr.Requests++
		st.status[code]++
		kr.Status[code]++
		if reason := resp.Header.Get(HeaderDropped); reason != "" {
			st.dropped[reason]++
		}
		return
	}
}

func (st *workerStats) fail(kr *KindReport, err error) {
	st.requests++
	kr.Requests++
	st.errors++
	kr.Status["error"]++
	if len(st.samples) < 10 {
		st.samples = append(st.samples, err.Error())
	}
}
