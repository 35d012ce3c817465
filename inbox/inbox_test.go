package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/store/duckdb"
)

func TestWorkerOutcomesAndCrashRecovery(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"ok", "ignore", "fail", "panic"} {
		d := &tributary.Delivery{ID: id, SiteID: "s1", EndpointID: "e", ReceivedAt: now, EventID: "evt_" + id, Type: id, EventCreated: now,
			Status: tributary.DeliveryPending, Payload: []byte(`{}`)}
		if _, err := st.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	calls := map[string]int{}
	handler := func(ctx context.Context, d *tributary.Delivery) (string, error) {
		calls[d.ID]++
		switch d.Type {
		case "ignore":
			return tributary.DeliveryIgnored, nil
		case "fail":
			return "", errors.New("boom")
		case "panic":
			panic("bad payload")
		}
		return tributary.DeliveryProcessed, nil
	}
	clock := now
	observed := map[string]int{}
	w := inbox.New(inbox.Options{Store: st, Handler: handler, Now: func() time.Time { return clock }, Lease: time.Minute,
		Observe: func(status string, took time.Duration) { observed[status]++ }})

	// A crashed process claimed everything and died: nothing is handled until the lease ends.
	if _, err := st.ClaimDeliveries(ctx, 10, now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("during lease: n=%d err=%v", n, err)
	}
	clock = now.Add(2 * time.Minute)
	if n, err := w.RunOnce(ctx); err != nil || n != 4 {
		t.Fatalf("after lease: n=%d err=%v", n, err)
	}
	want := map[string]string{"ok": "processed", "ignore": "ignored", "fail": "failed", "panic": "failed"}
	for id, status := range want {
		d, err := st.Delivery(ctx, "s1", id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != status || d.Attempts != 2 || (status == "failed" && d.Error == "") {
			t.Errorf("%s: %+v", id, d)
		}
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatalf("finished deliveries claimed again: %d", n)
	}
	if observed["processed"] != 1 || observed["ignored"] != 1 || observed["failed"] != 2 {
		t.Fatalf("observed outcomes %v, want 1 processed, 1 ignored, 2 failed", observed)
	}
	if calls["ok"] != 1 {
		t.Fatalf("handled ok %d times", calls["ok"])
	}
}

// TestCloseDoesNotDrainTheBacklog pins a prompt shutdown: Close returns after the delivery in progress,
// not after the whole backlog; what is left is processed by the next run.
func TestCloseDoesNotDrainTheBacklog(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		d := &tributary.Delivery{ID: fmt.Sprint("d", i), SiteID: "s1", EndpointID: "e", ReceivedAt: now, EventID: fmt.Sprint("evt_", i), Type: "x",
			EventCreated: now, Status: tributary.DeliveryPending, Payload: []byte(`{}`)}
		if _, err := st.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	handled := 0
	w := inbox.New(inbox.Options{Store: st, Handler: func(ctx context.Context, d *tributary.Delivery) (string, error) {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		handled++
		mu.Unlock()
		return tributary.DeliveryProcessed, nil
	}, Batch: 100})
	w.Start()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		mu.Lock()
		n := handled
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	w.Close()
	mu.Lock()
	n := handled
	mu.Unlock()
	if n == 0 || n >= 100 {
		t.Fatalf("handled %d deliveries before Close returned; want some, and far fewer than the batch of 100", n)
	}
}
