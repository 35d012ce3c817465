package stripe

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/inbox"

	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe/stripeapi"
	"github.com/tributary/tributary/stripe/stripefake"
	"github.com/tributary/tributary/stripe/stripesim"
)

// BenchmarkApplyBatch measures processing throughput: every simulated flow of the newest and the oldest
// API version, each flow's ids made unique per copy, processed in batches as the inbox claims them
// (100). The figure to read is ns per delivery (ns/op divided by deliveries/op, reported as ns/delivery).
func BenchmarkApplyBatch(b *testing.B) {
	var raws [][]byte
	for _, v := range []string{stripesim.Versions[0], stripesim.Versions[len(stripesim.Versions)-1]} {
		for _, f := range stripesim.Flows(v) {
			for _, e := range f.Events {
				raws = append(raws, e.Raw)
			}
		}
	}
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		site := *testSite
		site.ID = fmt.Sprint("bench", i) // a fresh site per round: the same flows are new money there
		for start := 0; start < len(raws); start += 100 {
			chunk := raws[start:min(start+100, len(raws))]
			items := make([]Item, len(chunk))
			for k, r := range chunk {
				items[k] = Item{Site: &site, Raw: r}
			}
			for _, o := range p.ApplyBatch(context.Background(), items) {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
			}
			n += len(chunk)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/delivery")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkInbox measures the whole processing path as the server runs it: deliveries recorded in the
// embedded store's inbox, claimed in batches of 100 by the inbox worker, processed as one unit of work
// each and their outcomes recorded.
func BenchmarkInbox(b *testing.B) {
	var raws [][]byte
	var types []string
	for _, v := range []string{stripesim.Versions[0], stripesim.Versions[len(stripesim.Versions)-1]} {
		for _, f := range stripesim.Flows(v) {
			for _, e := range f.Events {
				raws, types = append(raws, e.Raw), append(types, e.Type)
			}
		}
	}
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
	w := inbox.New(inbox.Options{Store: st, Handler: p.Handler(), BatchHandler: p.BatchHandler(), Batch: 100})
	n := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		site := &tributary.Site{ID: fmt.Sprint("inbox", i), Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
		if err := st.CreateSite(ctx, site); err != nil {
			b.Fatal(err)
		}
		for k, raw := range raws {
			d := &tributary.Delivery{ID: fmt.Sprintf("d%d-%d", i, k), SiteID: site.ID, EndpointID: "we", ReceivedAt: time.Now(), EventID: fmt.Sprintf("evt%d-%d", i, k),
				Type: types[k], Status: tributary.DeliveryPending, Payload: raw, EventCreated: time.Now()}
			if _, err := st.RecordDelivery(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		for {
			m, err := w.RunOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if m == 0 {
				break
			}
			n += m
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkImport measures a history import end to end: the fake Stripe API (no rate limit, on
// loopback) serving copies of every simulated live flow of the newest API version, paged 100 at a time
// through the client, reconciled and written to the embedded store. TRIBUTARY_BENCH_IMPORT_COPIES sets
// the number of copies (default 25, about 10,000 objects; 250 gives the 100,000).
func BenchmarkImport(b *testing.B) {
	copies := 25
	if v, err := strconv.Atoi(os.Getenv("TRIBUTARY_BENCH_IMPORT_COPIES")); err == nil && v > 0 {
		copies = v
	}
	var live []stripesim.Flow
	for _, f := range stripesim.Flows(stripesim.Versions[len(stripesim.Versions)-1]) {
		if f.Livemode {
			live = append(live, f)
		}
	}
	flows := stripefake.Copies(live, copies)
	fake := stripefake.New(b, flows)
	box, _ := secretbox.Load("", b.TempDir())
	now := stripefake.LastCreated(flows).Add(time.Hour)
	objects := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ctx := context.Background()
		st, err := duckdb.Open(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		p := &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
		s := &Syncer{Meta: st, Processor: p, Box: box, BaseURL: "https://stats.example.com", Now: func() time.Time { return now },
			Client: func(key string) *stripeapi.Client {
				return &stripeapi.Client{BaseURL: fake.Srv.URL, Key: key, Rate: 1e6}
			}}
		site := &tributary.Site{ID: "bench", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
		if err := st.CreateSite(ctx, site); err != nil {
			b.Fatal(err)
		}
		a, err := s.Connect(ctx, site, "rk_live_benchmark0000", 0, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for a.Import.Finished.IsZero() {
			if _, err := s.RunOnce(ctx); err != nil {
				b.Fatal(err)
			}
			if a, err = s.Account(ctx, site.ID, a.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		objects += a.Import.Objects
		st.Close()
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(objects)/float64(b.N), "objects/op")
}
