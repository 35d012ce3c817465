package stripe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/inbox"

	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/store/duckdb"
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
