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
		start:             time.Now(),
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

// WriterGauges exposes the ingest buffer: events waiting, its capacity and events stored so far.
func (s *Set) WriterGauges(pending func() int, capacity int, written func() int64) {
	s.Registry.GaugeFunc("tributary_ingest_buffer_events", "Browser events buffered in memory, waiting for the store.", func() float64 { return float64(pending()) })
	s.Registry.GaugeFunc("tributary_ingest_buffer_capacity", "Events the ingest buffer holds before the endpoint answers 503.", func() float64 { return float64(capacity) })
	s.Registry.GaugeFunc("tributary_ingest_stored_events", "Browser events written to the store since start.", func() float64 { return float64(written()) })
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
