package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func delivery(id, event string, at time.Time) *tributary.Delivery {
	return &tributary.Delivery{ID: id, SiteID: "s1", EndpointID: "ep1", ReceivedAt: at, EventID: event, Type: "charge.succeeded",
		APIVersion: "2020-08-27", Livemode: true, EventCreated: at.Add(-time.Second), Status: tributary.DeliveryPending, Payload: []byte(`{"id":"` + event + `"}`)}
}

// WebhookStore runs the webhook endpoint and inbox conformance suite.
func WebhookStore(t *testing.T, open func(t *testing.T) tributary.MetaStore) {
	ctx := context.Background()
	t.Run("Endpoints", func(t *testing.T) {
		s := open(t)
		e := &tributary.StripeEndpoint{ID: "ep1", SiteID: "s1", Mode: tributary.ModeLive, Secrets: []string{"whsec_a"}, CreatedAt: Clock, UpdatedAt: Clock}
		must(t, s.CreateStripeEndpoint(ctx, e))
		e.Secrets = []string{"whsec_b", "whsec_a"}
		e.UpdatedAt = Clock.Add(time.Hour)
		must(t, s.UpdateStripeEndpoint(ctx, e))
		got, err := s.StripeEndpoint(ctx, "ep1")
		must(t, err)
		if len(got.Secrets) != 2 || got.Secrets[0] != "whsec_b" || got.Mode != "live" || got.SiteID != "s1" {
			t.Fatalf("endpoint = %+v", got)
		}
		list, err := s.StripeEndpoints(ctx, "s1")
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("list = %d", len(list))
		}
		wantCode(t, s.DeleteStripeEndpoint(ctx, "other", "ep1"), tributary.ENOTFOUND)
		must(t, s.DeleteStripeEndpoint(ctx, "s1", "ep1"))
		_, err = s.StripeEndpoint(ctx, "ep1")
		wantCode(t, err, tributary.ENOTFOUND)
	})
	t.Run("InboxDedupeClaimFinish", func(t *testing.T) {
		s := open(t)
		dup, err := s.RecordDelivery(ctx, delivery("d1", "evt_1", Clock))
		must(t, err)
		if dup {
			t.Fatal("first delivery marked duplicate")
		}
		dup, err = s.RecordDelivery(ctx, delivery("d2", "evt_1", Clock.Add(time.Second)))
		must(t, err)
		if !dup {
			t.Fatal("second delivery of evt_1 not a duplicate")
		}
		rej := delivery("d3", "evt_bad", Clock.Add(2*time.Second))
		rej.Status, rej.Error = tributary.DeliveryRejected, "bad signature"
		_, err = s.RecordDelivery(ctx, rej)
		must(t, err)

		claimed, err := s.ClaimDeliveries(ctx, 10, Clock, Clock.Add(time.Minute))
		must(t, err)
		if len(claimed) != 1 || claimed[0].ID != "d1" || string(claimed[0].Payload) != `{"id":"evt_1"}` || claimed[0].Attempts != 1 {
			t.Fatalf("claimed = %+v", claimed)
		}
		// Leased: not claimed again until the lease ends (a crashed processor's work is taken over).
		again, err := s.ClaimDeliveries(ctx, 10, Clock.Add(30*time.Second), Clock.Add(2*time.Minute))
		must(t, err)
		if len(again) != 0 {
			t.Fatalf("claimed a leased delivery: %+v", again)
		}
		again, err = s.ClaimDeliveries(ctx, 10, Clock.Add(2*time.Minute), Clock.Add(3*time.Minute))
		must(t, err)
		if len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("expired lease not reclaimed: %+v", again)
		}
		must(t, s.FinishDelivery(ctx, "d1", tributary.DeliveryFailed, "boom", 3, Clock.Add(3*time.Minute)))

		log, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1"})
		must(t, err)
		if len(log) != 3 || log[0].ID != "d3" || log[0].Status != "rejected" || log[0].Error != "bad signature" || log[1].Status != "duplicate" || log[2].Status != "failed" {
			for _, d := range log {
				t.Logf("%+v", d)
			}
			t.Fatal("delivery log wrong")
		}
		failed, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1", Status: "failed"})
		must(t, err)
		if len(failed) != 1 || failed[0].Error != "boom" || failed[0].ProcessingMS != 3 || failed[0].ProcessedAt == nil {
			t.Fatalf("failed filter = %+v", failed)
		}
		window, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1", From: Clock.Add(time.Second), To: Clock.Add(2 * time.Second)})
		must(t, err)
		if len(window) != 1 || window[0].ID != "d2" {
			t.Fatalf("time filter = %+v", window)
		}
		d, err := s.Delivery(ctx, "s1", "d2")
		must(t, err)
		if len(d.Payload) != 0 {
			t.Fatal("duplicate stored its payload again")
		}
		wantCode(t, s.ReplayDelivery(ctx, "s1", "d2"), tributary.ECONFLICT)
		wantCode(t, s.ReplayDelivery(ctx, "s1", "nope"), tributary.ENOTFOUND)
		n, err := s.ReplayFailed(ctx, "s1")
		must(t, err)
		if n != 1 {
			t.Fatalf("replayed %d", n)
		}
		claimed, err = s.ClaimDeliveries(ctx, 10, Clock.Add(4*time.Minute), Clock.Add(5*time.Minute))
		must(t, err)
		if len(claimed) != 1 || claimed[0].ID != "d1" {
			t.Fatalf("replayed delivery not pending: %+v", claimed)
		}
		must(t, s.FinishDelivery(ctx, "d1", tributary.DeliveryProcessed, "", 1, Clock.Add(4*time.Minute)))
		must(t, s.ReplayDelivery(ctx, "s1", "d1"))
	})
	t.Run("ReleaseLeases", func(t *testing.T) {
		s := open(t)
		_, err := s.RecordDelivery(ctx, delivery("l1", "evt_l1", Clock))
		must(t, err)
		_, err = s.ClaimDeliveries(ctx, 10, Clock, Clock.Add(time.Hour))
		must(t, err)
		n, err := s.ReleaseLeases(ctx)
		must(t, err)
		again, err := s.ClaimDeliveries(ctx, 10, Clock, Clock.Add(time.Hour))
		must(t, err)
		if n != 1 || len(again) != 1 {
			t.Fatalf("released %d, reclaimed %d", n, len(again))
		}
	})
	t.Run("ConcurrentDuplicates", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				dup, err := s.RecordDelivery(ctx, delivery(fmt.Sprintf("c%d", i), "evt_same", Clock))
				if err != nil {
					t.Error(err)
					return
				}
				if !dup {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d deliveries of one event were stored as new, want exactly 1", fresh)
		}
	})
	// Paging the log: a full page is followed by the next through its last id, past 1,000 deliveries
	// and across deliveries received in the same instant; an unknown cursor is EINVALID on "before".
	t.Run("DeliveryPaging", func(t *testing.T) {
		s := open(t)
		const total = 1203
		for i := 0; i < total; i++ {
			// Groups of three share a receipt time, so the id breaks ties.
			d := delivery(fmt.Sprintf("p%04d", i), fmt.Sprintf("evt_p%d", i), Clock.Add(time.Duration(i/3)*time.Second))
			d.Status, d.Payload = tributary.DeliveryRejected, nil
			_, err := s.RecordDelivery(ctx, d)
			must(t, err)
		}
		seen := map[string]bool{}
		before := ""
		pages := 0
		for {
			page, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1", Limit: 500, Before: before})
			must(t, err)
			for _, d := range page {
				if seen[d.ID] {
					t.Fatalf("delivery %s on two pages", d.ID)
				}
				seen[d.ID] = true
			}
			pages++
			if len(page) < 500 {
				break
			}
			before = page[len(page)-1].ID
		}
		if len(seen) != total || pages != 3 {
			t.Fatalf("paged through %d deliveries in %d pages, want %d in 3", len(seen), pages, total)
		}
		for _, bad := range []string{"x", "p0001' OR '1'='1", ""} {
			if bad == "" {
				continue
			}
			_, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1", Before: bad})
			wantCode(t, err, tributary.EINVALID)
			if tributary.ErrorField(err) != "before" {
				t.Fatalf("cursor %q: field %q", bad, tributary.ErrorField(err))
			}
		}
		// Another site's delivery id is no cursor here.
		_, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s2", Before: "p0001"})
		wantCode(t, err, tributary.EINVALID)
	})
	// The backlog counts what waits (pending and processing), per site or overall, with the oldest time.
	t.Run("InboxBacklog", func(t *testing.T) {
		s := open(t)
		b, err := s.InboxBacklog(ctx, "")
		must(t, err)
		if b.Waiting != 0 || !b.Oldest.IsZero() {
			t.Fatalf("empty backlog = %+v", b)
		}
		for i := 0; i < 4; i++ {
			_, err := s.RecordDelivery(ctx, delivery(fmt.Sprintf("k%d", i), fmt.Sprintf("evt_k%d", i), Clock.Add(time.Duration(i)*time.Minute)))
			must(t, err)
		}
		claimed, err := s.ClaimDeliveries(ctx, 2, Clock, Clock.Add(time.Minute))
		must(t, err)
		must(t, s.FinishDelivery(ctx, claimed[0].ID, tributary.DeliveryProcessed, "", 1, Clock))
		b, err = s.InboxBacklog(ctx, "s1")
		must(t, err)
		if b.Waiting != 3 {
			t.Fatalf("backlog = %+v, want 3 waiting (one processing, two pending)", b)
		}
		if other, err := s.InboxBacklog(ctx, "s2"); err != nil || other.Waiting != 0 {
			t.Fatalf("other site's backlog = %+v, %v", other, err)
		}
		if all, err := s.InboxBacklog(ctx, ""); err != nil || all.Waiting != 3 || all.Oldest.After(Clock.Add(time.Minute)) {
			t.Fatalf("overall backlog = %+v, %v", all, err)
		}
	})
	// Many deliveries at once, as a burst from Stripe: each event is stored as new exactly once, every
	// delivery (duplicates and rejections included) is in the log, and only accepted ones are queued.
	t.Run("ConcurrentBurst", func(t *testing.T) {
		s := open(t)
		const events, copies = 40, 3
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := map[string]int{}
		for e := 0; e < events; e++ {
			for c := 0; c < copies; c++ {
				wg.Add(1)
				go func(e, c int) {
					defer wg.Done()
					d := delivery(fmt.Sprintf("b%d_%d", e, c), fmt.Sprintf("evt_%d", e), Clock)
					if c == copies-1 && e%10 == 0 {
						d.Status, d.Error, d.Payload = tributary.DeliveryRejected, "bad signature", nil
					}
					dup, err := s.RecordDelivery(ctx, d)
					if err != nil {
						t.Error(err)
						return
					}
					if !dup && d.Status == tributary.DeliveryPending {
						mu.Lock()
						fresh[d.EventID]++
						mu.Unlock()
					}
				}(e, c)
			}
		}
		wg.Wait()
		for e := 0; e < events; e++ {
			if n := fresh[fmt.Sprintf("evt_%d", e)]; n != 1 {
				t.Errorf("evt_%d stored as new %d times, want 1", e, n)
			}
		}
		all, err := s.Deliveries(ctx, tributary.DeliveryFilter{SiteID: "s1", Limit: 1000})
		must(t, err)
		if len(all) != events*copies {
			t.Fatalf("log has %d deliveries, want %d", len(all), events*copies)
		}
		claimed, err := s.ClaimDeliveries(ctx, 1000, Clock, Clock.Add(time.Minute))
		must(t, err)
		if len(claimed) != events {
			t.Fatalf("claimed %d deliveries, want one per event (%d)", len(claimed), events)
		}
	})
}
