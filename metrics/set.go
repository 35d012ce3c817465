package metrics

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Set is the server's own metrics: every family GET /metrics shows, registered once.
type Set struct {
	Registry *Registry

	// HTTPRequests counts answered requests by route pattern and status code.
	HTTPRequests *CounterVec
	// HTTPDuration is the server time of each request by route pattern; the query API and the dashboard
	// are routes, so their latency is here.
	HTTPDuration *HistogramVec
	// IngestEvents counts browser events by outcome (accepted, dropped) and drop reason.
	IngestEvents *CounterVec
	// WebhookDeliveries counts Stripe deliveries by intake answer (accepted, duplicate, rejected,
	// unavailable).
	WebhookDeliveries *CounterVec
	// WebhookAck is the time from receiving a delivery to acknowledging it.
	WebhookAck *HistogramVec
	// WebhookProcessed counts processed inbox deliveries by final status.
	WebhookProcessed *CounterVec
	// WebhookProcessing is the processing time of one delivery.
	WebhookProcessing *HistogramVec
	// IngestWriteDropped counts events the store refused on their own at write time, by reason; the
	// rest of their batch was written.
	IngestWriteDropped *CounterVec
	// IngestWriteFailures counts failed event write attempts (each retry, each half of a split batch).
	IngestWriteFailures *CounterVec
	// WebhookRejected counts unsigned or invalid webhook deliveries by reason (signature, limited, …).
	WebhookRejected *CounterVec

	start time.Time
}

// NewSet registers the server's families and the process gauges.
func NewSet() *Set {
	r := New()
	s := &Set{
		Registry:          r,
		HTTPRequests:      r.Counter("tributary_http_requests_total", "HTTP requests answered, by route pattern and status code.", "route", "code"),
		HTTPDuration:      r.Histogram("tributary_http_request_duration_seconds", "Server time per HTTP request, by route pattern.", nil, "route"),
		IngestEvents:      r.Counter("tributary_ingest_events_total", "Browser events received, by outcome and drop reason.", "outcome", "reason"),
		WebhookDeliveries: r.Counter("tributary_webhook_deliveries_total", "Stripe webhook deliveries by intake answer.", "result"),
		WebhookAck:        r.Histogram("tributary_webhook_ack_duration_seconds", "Time from receiving a Stripe delivery to acknowledging it (durably stored).", nil),
		WebhookProcessed:  r.Counter("tributary_webhook_processed_total", "Inbox deliveries processed, by final status.", "status"),
		WebhookProcessing: r.Histogram("tributary_webhook_processing_duration_seconds", "Processing time of one inbox delivery.", nil),
		IngestWriteDropped: r.Counter("tributary_ingest_write_dropped_total",
			"Events the store refused on their own at write time, dropped with a reason while the rest of their batch was written.", "reason"),
		IngestWriteFailures: r.Counter("tributary_ingest_write_failures_total", "Failed event write attempts (retries and split halves included)."),
		WebhookRejected: r.Counter("tributary_webhook_rejected_total",
			"Webhook deliveries refused before the inbox, by reason (signature, rate_limited, allowlist, malformed, event_time, mode).", "reason"),
		start: time.Now(),
	}
	r.GaugeFunc("tributary_uptime_seconds", "Seconds since the process started.", func() float64 { return time.Since(s.start).Seconds() })
	r.GaugeFunc("tributary_goroutines", "Goroutines running.", func() float64 { return float64(runtime.NumGoroutine()) })
	r.GaugeFunc("tributary_go_heap_bytes", "Bytes of allocated Go heap objects.", func() float64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	})
	r.GaugeFunc("process_resident_memory_bytes", "Resident memory of the process (Go heap plus the embedded store's buffers).", residentBytes)
	return s
}

// WriterGauges exposes the ingest buffer: events held (waiting or being written), its capacity and
// events stored so far.
func (s *Set) WriterGauges(pending func() int, capacity int, written func() int64) {
	s.Registry.GaugeFunc("tributary_ingest_buffer_events", "Browser events held in memory, waiting for the store or being written.", func() float64 { return float64(pending()) })
	s.Registry.GaugeFunc("tributary_ingest_buffer_capacity", "Events the ingest buffer holds before the endpoint answers 503.", func() float64 { return float64(capacity) })
	s.Registry.GaugeFunc("tributary_ingest_stored_events", "Browser events written to the store since start.", func() float64 { return float64(written()) })
}

// WriterHealth exposes whether the ingest writer keeps up: seconds its writes have been failing (or
// one write has hung) and 1 when that is past the stuck threshold (/readyz then answers 503).
func (s *Set) WriterHealth(fn func() (stuck bool, failing time.Duration)) {
	s.Registry.GaugeFunc("tributary_ingest_writer_failing_seconds", "Seconds the ingest writer's writes have been failing or hanging (0 when the last one succeeded).",
		func() float64 { _, d := fn(); return d.Seconds() })
	s.Registry.GaugeFunc("tributary_ingest_writer_stuck", "1 when the ingest writer has failed or hung past its threshold while events wait (/readyz answers 503).",
		func() float64 {
			if stuck, _ := fn(); stuck {
				return 1
			}
			return 0
		})
}

// InboxGauges exposes the webhook inbox backlog: deliveries waiting to be processed (pending or
// claimed) and the age of the oldest. fn is read at scrape time and should be cheap (it is cached).
func (s *Set) InboxGauges(fn func() (waiting int64, oldest time.Duration)) {
	s.Registry.GaugeFunc("tributary_webhook_backlog_deliveries", "Stripe deliveries acknowledged but not yet processed (pending or processing).",
		func() float64 { n, _ := fn(); return float64(n) })
	s.Registry.GaugeFunc("tributary_webhook_backlog_oldest_seconds", "Age of the oldest unprocessed Stripe delivery in seconds (0 when none wait).",
		func() float64 { _, d := fn(); return d.Seconds() })
}

// residentBytes reads the resident set from /proc (Linux); elsewhere it reports 0.
func residentBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}
