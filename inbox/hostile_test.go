package inbox_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/store/duckdb"
)

// TestWorkerBadDeliveriesNeverBlockOthers pins that a delivery that cannot be processed — its handler
// fails, panics or hangs — is marked failed with its error, is not retried by itself, and the others
// are processed.
func TestWorkerBadDeliveriesNeverBlockOthers(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		id, want, errText string
	}{
		{"hang", tributary.DeliveryFailed, "took longer than"},
		{"fail", tributary.DeliveryFailed, "boom"},
		{"panic", tributary.DeliveryFailed, "panic"},
		{"ok1", tributary.DeliveryProcessed, ""},
		{"ok2", tributary.DeliveryProcessed, ""},
	}
	for i, tc := range tests {
		d := &tributary.Delivery{ID: tc.id, SiteID: "s1", EndpointID: "e", ReceivedAt: now, EventID: "evt_" + tc.id, Type: tc.id,
			EventCreated: now.Add(time.Duration(i) * time.Second), Status: tributary.DeliveryPending, Payload: []byte(`{}`)}
		if _, err := st.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int64
	handler := func(ctx context.Context, d *tributary.Delivery) (string, error) {
		calls.Add(1)
		switch d.Type {
		case "hang":
			<-ctx.Done()
			return "", ctx.Err()
		case "fail":
			return "", errors.New("boom")
		case "panic":
			panic("bad payload")
		}
		return tributary.DeliveryProcessed, nil
	}
	w := inbox.New(inbox.Options{Store: st, Handler: handler, Timeout: 50 * time.Millisecond, Poll: 10 * time.Millisecond})
	w.Start()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := st.InboxBacklog(ctx, ""); b.Waiting == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // ten more polls: nothing is taken up again
	w.Close()
	if n := calls.Load(); n != int64(len(tests)) {
		t.Fatalf("handler called %d times for %d deliveries: failed ones were retried", n, len(tests))
	}
	for _, tc := range tests {
		d, err := st.Delivery(ctx, "s1", tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != tc.want || !strings.Contains(d.Error, tc.errText) {
			t.Errorf("%s: status %s error %q, want %s with %q", tc.id, d.Status, d.Error, tc.want, tc.errText)
		}
	}
}

// failingStore cannot claim: the store is down.
type failingStore struct {
	tributary.WebhookStore
	claims atomic.Int64
}

func (f *failingStore) ClaimDeliveries(ctx context.Context, limit int, now, leaseUntil time.Time) ([]*tributary.Delivery, error) {
	f.claims.Add(1)
	return nil, errors.New("store down")
}

// TestWorkerBacksOffAFailingStore: new deliveries keep waking the worker, but a store that cannot
// claim is retried with a growing pause, not in a tight loop.
func TestWorkerBacksOffAFailingStore(t *testing.T) {
	st := &failingStore{}
	w := inbox.New(inbox.Options{Store: st, Handler: func(context.Context, *tributary.Delivery) (string, error) { return "", nil }, Poll: time.Second})
	w.Start()
	stop := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(stop) {
		w.Notify()
		time.Sleep(100 * time.Microsecond)
	}
	w.Close()
	// 100, 200 ms pauses: about 3 claims in 500 ms (thousands without the backoff).
	if n := st.claims.Load(); n > 6 {
		t.Fatalf("%d claims in 500 ms against a failing store", n)
	}
}
