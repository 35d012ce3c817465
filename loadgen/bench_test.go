package loadgen

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkGenerate(b *testing.B) {
	o := DefaultOptions()
	o.Now = fixedNow
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventRequest(b *testing.B) {
	sc := defaultScenario(b)
	v := &sc.Visits[0]
	b.ReportAllocs()
	for b.Loop() {
		_ = sc.eventRequest("site1", v, &v.Events[0])
	}
}

func BenchmarkSign(b *testing.B) {
	body := defaultScenario(b).Webhooks[0].Body
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Sign("whsec_0123456789abcdef", body, fixedNow)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h histogram
	b.ReportAllocs()
	d := 1234567 * time.Nanosecond
	for b.Loop() {
		h.record(d)
		d += 7
	}
}

// BenchmarkDriverBare is the generator's own ceiling: requests through the driver to BareServer.
func BenchmarkDriverBare(b *testing.B) {
	srv := httptest.NewServer(BareServer())
	defer srv.Close()
	sc := defaultScenario(b)
	d, err := NewDriver(DriverOptions{BaseURL: srv.URL, Concurrency: 16, Count: int64(b.N)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	rep, err := d.Run(context.Background(), Loop(sc, Target{SiteID: "s"}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rep.Rate, "req/s")
}
