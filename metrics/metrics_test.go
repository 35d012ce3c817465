package metrics

import (
	"strings"
	"sync"
	"testing"
)

func TestExposition(t *testing.T) {
	r := New()
	c := r.Counter("reqs_total", "Requests.", "route", "code")
	c.Inc("GET /a", "200")
	c.Add(2, "GET /a", "200")
	c.Inc(`say "hi"`+"\n", "500")
	h := r.Histogram("lat_seconds", "Latency.", []float64{0.1, 1}, "route")
	for _, v := range []float64{0.05, 0.1, 0.5, 3} {
		h.Observe(v, "q")
	}
	r.GaugeFunc("up", "Up.", func() float64 { return 1 })
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total{route="GET /a",code="200"} 3
reqs_total{route="say \"hi\"\n",code="500"} 1
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{route="q",le="0.1"} 2
lat_seconds_bucket{route="q",le="1"} 3
lat_seconds_bucket{route="q",le="+Inf"} 4
lat_seconds_sum{route="q"} 3.65
lat_seconds_count{route="q"} 4
# HELP up Up.
# TYPE up gauge
up 1
`
	if b.String() != want {
		t.Fatalf("exposition:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestUnlabelledHistogramAndConcurrency(t *testing.T) {
	r := New()
	h := r.Histogram("x_seconds", "X.", nil)
	c := r.Counter("n_total", "N.", "k")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(0.003)
				c.Inc("a")
			}
		}()
	}
	wg.Wait()
	if h.Count() != 8000 || c.Value("a") != 8000 {
		t.Fatalf("count %d, counter %d", h.Count(), c.Value("a"))
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, line := range []string{`x_seconds_bucket{le="0.0025"} 0`, `x_seconds_bucket{le="0.005"} 8000`, `x_seconds_count 8000`, `n_total{k="a"} 8000`} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("missing %q in\n%s", line, b.String())
		}
	}
}

func TestDuplicateRegistrationPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("second registration of a name did not panic")
		}
	}()
	r := New()
	r.Counter("a", "A.")
	r.Counter("a", "A.")
}

func TestSetRegistersProcessGauges(t *testing.T) {
	s := NewSet()
	s.WriterGauges(func() int { return 7 }, 100, func() int64 { return 42 })
	var b strings.Builder
	s.Registry.WriteText(&b)
	for _, want := range []string{"tributary_ingest_buffer_events 7\n", "tributary_ingest_stored_events 42\n", "# TYPE process_resident_memory_bytes gauge\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q", want)
		}
	}
}
