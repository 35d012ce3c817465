package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/inbox"
	"github.com/tributary/tributary/store/duckdb"
)

type bell struct{ rings int }

func (b *bell) Notify() { b.rings++ }

// TestIntakeWakesTheWorker pins when the intake wakes the worker: after a new pending delivery and a
// replay, not after a duplicate, a rejected delivery or a replay of nothing.
func TestIntakeWakesTheWorker(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := st.CreateSite(ctx, &tributary.Site{ID: "s1", Domain: "example.com", Currency: "USD", Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateStripeEndpoint(ctx, &tributary.StripeEndpoint{ID: "we_1", SiteID: "s1", Mode: tributary.ModeLive, Secrets: []string{"whsec_x"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	b := &bell{}
	in := &inbox.Intake{Store: st, Worker: b}
	if _, err := in.Endpoint(ctx, "nope"); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Fatalf("unknown endpoint: %v", err)
	}
	d := func(id, event, status string) *tributary.Delivery {
		return &tributary.Delivery{ID: id, SiteID: "s1", EndpointID: "we_1", EventID: event, Type: "charge.succeeded", Livemode: true,
			ReceivedAt: now, EventCreated: now, Status: status, Payload: []byte(`{}`)}
	}
	for _, c := range []struct {
		d     *tributary.Delivery
		dup   bool
		rings int
	}{
		{d("d1", "evt_1", tributary.DeliveryPending), false, 1},
		{d("d2", "evt_1", tributary.DeliveryPending), true, 1},
		{d("d3", "evt_2", tributary.DeliveryRejected), false, 1},
	} {
		dup, err := in.Record(ctx, c.d)
		if err != nil || dup != c.dup || b.rings != c.rings {
			t.Fatalf("record %s: duplicate %v, %v, %d rings; want %v and %d", c.d.ID, dup, err, b.rings, c.dup, c.rings)
		}
	}
	if n, err := in.ReplayFailed(ctx, "s1"); err != nil || n != 0 || b.rings != 1 {
		t.Fatalf("replay of no failed delivery: %d, %v, %d rings", n, err, b.rings)
	}
	if err := in.Replay(ctx, "s1", "nope"); tributary.ErrorCode(err) != tributary.ENOTFOUND || b.rings != 1 {
		t.Fatalf("replay of an unknown delivery: %v (%s), %d rings", err, tributary.ErrorCode(err), b.rings)
	}
}
