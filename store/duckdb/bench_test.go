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
