package stripe

import (
	"context"
	"fmt"
	"testing"

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
