package duckdb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// BenchmarkRecordDelivery measures webhook intake on a file store: one delivery at a time (each its
// own commit, with GOMAXPROCS senders) and 16 times as many senders (sharing commits).
func BenchmarkRecordDelivery(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			s, err := duckdb.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			payload := make([]byte, 3000)
			var n atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					d := &tributary.Delivery{ID: fmt.Sprint("d", i), SiteID: "s1", EndpointID: "ep", ReceivedAt: now, EventID: fmt.Sprint("evt", i),
						Type: "charge.succeeded", EventCreated: now, Status: tributary.DeliveryPending, Payload: payload}
					if _, err := s.RecordDelivery(context.Background(), d); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkInsertEvents is what ingest pays per stored event at each flush size: the Appender and the
// visits the batch touched, derived in the batch's transaction. Events arrive as the live site sends them:
// visits of one to six events, each visit's events spread over consecutive batches; ns/op is per event.
func BenchmarkInsertEvents(b *testing.B) {
	for _, size := range []int{2_500, 10_000, 40_000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, err := duckdb.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			next := 0
			batch := func(n int) []tributary.Event {
				out := make([]tributary.Event, n)
				for i := range out {
					k := next + i
					visit := k / 3 // about three events per visit, the visit's events in order
					out[i] = tributary.Event{SiteID: "s1", Timestamp: t0.Add(time.Duration(k) * time.Millisecond), Name: tributary.PageviewName,
						Source: tributary.SourceBrowser, VisitorID: fmt.Sprintf("v%09d", visit/2), SessionID: fmt.Sprintf("s%09d", visit),
						Hostname: "shop.example", Path: fmt.Sprintf("/p%d", k%7), Channel: "Organic Search", ReferrerSource: "Google",
						Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
				}
				next += n
				return out
			}
			// A store with history: 200,000 events before the timed batches.
			for i := 0; i < 200_000/size; i++ {
				if err := s.InsertEvents(context.Background(), batch(size)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for done := 0; done < b.N; done += size {
				b.StopTimer()
				evs := batch(size)
				b.StartTimer()
				if err := s.InsertEvents(context.Background(), evs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
