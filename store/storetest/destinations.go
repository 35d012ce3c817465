package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// Destinations runs the destinations and outbox conformance suite (issue 22).
func Destinations(t *testing.T, open func(t *testing.T) tributary.MetaStore) {
	ctx := context.Background()
	row := func(id, dest, entry string, next time.Time) tributary.DestinationDelivery {
		return tributary.DestinationDelivery{ID: id, SiteID: "s1", DestinationID: dest, EntryID: entry, PaymentID: "pay_" + entry, Kind: tributary.EntryPayment,
			Livemode: true, Status: tributary.OutboxPending, NextAttemptAt: next, CreatedAt: next}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s tributary.MetaStore)
	}{
		{"CreateReadDelete", func(t *testing.T, s tributary.MetaStore) {
			d := &tributary.Destination{ID: "d1", SiteID: "s1", Type: tributary.DestinationMeta, Name: "Meta", Config: map[string]string{"pixel_id": "123"},
				Enabled: true, CreatedAt: Clock, SealedSecret: "sealed"}
			must(t, s.CreateDestination(ctx, d))
			wantCode(t, s.CreateDestination(ctx, d), tributary.ECONFLICT)
			must(t, s.CreateDestination(ctx, &tributary.Destination{ID: "d2", SiteID: "s1", Type: tributary.DestinationWebhook, Config: map[string]string{}, CreatedAt: Clock.Add(time.Second)}))
			got, err := s.Destination(ctx, "s1", "d1")
			must(t, err)
			if got.Config["pixel_id"] != "123" || got.SealedSecret != "sealed" || !got.Enabled || !got.CreatedAt.Equal(Clock) || got.Type != "meta" {
				t.Fatalf("destination = %+v", got)
			}
			_, err = s.Destination(ctx, "other", "d1")
			wantCode(t, err, tributary.ENOTFOUND)
			all, err := s.Destinations(ctx, "s1")
			must(t, err)
			if len(all) != 2 || all[0].ID != "d1" || all[1].ID != "d2" {
				t.Fatalf("destinations = %+v", all)
			}
			got.Name, got.Config, got.SealedSecret, got.Enabled = "Meta 2", map[string]string{"pixel_id": "456"}, "sealed2", false
			must(t, s.UpdateDestination(ctx, got))
			again, err := s.Destination(ctx, "s1", "d1")
			must(t, err)
			if again.Name != "Meta 2" || again.Config["pixel_id"] != "456" || again.SealedSecret != "sealed2" || again.Enabled || again.Type != "meta" {
				t.Fatalf("updated = %+v", again)
			}
			wantCode(t, s.UpdateDestination(ctx, &tributary.Destination{ID: "nope", SiteID: "s1", Config: map[string]string{}}), tributary.ENOTFOUND)
			_, err = s.EnqueueOutbox(ctx, []tributary.DestinationDelivery{row("o1", "d1", "e1", Clock)})
			must(t, err)
			must(t, s.DeleteDestination(ctx, "s1", "d1"))
			wantCode(t, s.DeleteDestination(ctx, "s1", "d1"), tributary.ENOTFOUND)
			rows, err := s.DestinationDeliveries(ctx, "s1", "d1", 10)
			must(t, err)
			if len(rows) != 0 {
				t.Fatalf("outbox of a deleted destination = %+v", rows)
			}
		}},
		{"OutboxOncePerEntry", func(t *testing.T, s tributary.MetaStore) {
			n, err := s.EnqueueOutbox(ctx, []tributary.DestinationDelivery{row("o1", "d1", "e1", Clock), row("o2", "d2", "e1", Clock)})
			must(t, err)
			if n != 2 {
				t.Fatalf("new = %d, want 2", n)
			}
			// The same entries given again (a retried batch) under new row ids: nothing new.
			n, err = s.EnqueueOutbox(ctx, []tributary.DestinationDelivery{row("o3", "d1", "e1", Clock), row("o4", "d1", "e2", Clock)})
			must(t, err)
			if n != 1 {
				t.Fatalf("new = %d, want 1", n)
			}
			rows, err := s.DestinationDeliveries(ctx, "s1", "d1", 10)
			must(t, err)
			if len(rows) != 2 || rows[0].ID != "o4" || rows[1].ID != "o1" {
				t.Fatalf("rows = %+v", rows)
			}
		}},
		{"ClaimLeaseUpdate", func(t *testing.T, s tributary.MetaStore) {
			_, err := s.EnqueueOutbox(ctx, []tributary.DestinationDelivery{row("o1", "d1", "e1", Clock), row("o2", "d1", "e2", Clock.Add(time.Minute))})
			must(t, err)
			got, err := s.ClaimOutbox(ctx, Clock, time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "o1" || !got[0].NextAttemptAt.Equal(Clock) {
				t.Fatalf("claimed = %+v", got)
			}
			// Leased: not claimed again before the lease ends.
			got, err = s.ClaimOutbox(ctx, Clock.Add(30*time.Second), time.Minute, 10)
			must(t, err)
			if len(got) != 0 {
				t.Fatalf("claimed during the lease = %+v", got)
			}
			// A dead run's claims are released at start (the embedded store).
			n, err := s.ReleaseOutboxLeases(ctx)
			must(t, err)
			if n != 1 {
				t.Fatalf("released %d leases, want 1", n)
			}
			got, err = s.ClaimOutbox(ctx, Clock.Add(30*time.Second), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "o1" {
				t.Fatalf("claimed after the release = %+v", got)
			}
			d, err := s.DestinationDelivery(ctx, "s1", "d1", "o1")
			must(t, err)
			sent := Clock.Add(time.Second)
			d.Status, d.Attempts, d.Request, d.Response, d.SentAt, d.LastError = tributary.OutboxSent, 1, `{"a":1}`, 200, &sent, ""
			must(t, s.UpdateOutbox(ctx, d))
			d, err = s.DestinationDelivery(ctx, "s1", "d1", "o1")
			must(t, err)
			if d.Status != "sent" || d.Attempts != 1 || d.Request != `{"a":1}` || d.Response != 200 || d.SentAt == nil || !d.SentAt.Equal(sent) {
				t.Fatalf("updated = %+v", d)
			}
			got, err = s.ClaimOutbox(ctx, Clock.Add(2*time.Minute), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "o2" {
				t.Fatalf("claimed after the lease = %+v", got)
			}
			// Recording an attempt ends the claim: the row is due again at its next attempt.
			o2 := got[0]
			o2.Attempts, o2.NextAttemptAt, o2.LastError = 1, Clock.Add(2*time.Minute+10*time.Second), "503"
			must(t, s.UpdateOutbox(ctx, &o2))
			got, err = s.ClaimOutbox(ctx, Clock.Add(2*time.Minute+10*time.Second), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "o2" || got[0].Attempts != 1 {
				t.Fatalf("claimed at the next attempt = %+v", got)
			}
			_, err = s.DestinationDelivery(ctx, "s1", "d1", "nope")
			wantCode(t, err, tributary.ENOTFOUND)
		}},
		{"ConcurrentClaimsAreDisjoint", func(t *testing.T, s tributary.MetaStore) {
			var rows []tributary.DestinationDelivery
			for i := 0; i < 60; i++ {
				rows = append(rows, row(fmt.Sprintf("o%02d", i), "d1", fmt.Sprintf("e%02d", i), Clock))
			}
			_, err := s.EnqueueOutbox(ctx, rows)
			must(t, err)
			var mu sync.Mutex
			seen := map[string]int{}
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := s.ClaimOutbox(ctx, Clock, time.Minute, 7)
						if err != nil {
							t.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, d := range got {
							seen[d.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != 60 {
				t.Fatalf("claimed %d rows, want 60", len(seen))
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%s claimed %d times", id, n)
				}
			}
		}},
		{"Counts", func(t *testing.T, s tributary.MetaStore) {
			must(t, s.CreateDestination(ctx, &tributary.Destination{ID: "d1", SiteID: "s1", Type: tributary.DestinationGoogleAds, Config: map[string]string{}, CreatedAt: Clock}))
			_, err := s.EnqueueOutbox(ctx, []tributary.DestinationDelivery{row("o1", "d1", "e1", Clock), row("o2", "d1", "e2", Clock)})
			must(t, err)
			d, err := s.DestinationDelivery(ctx, "s1", "d1", "o2")
			must(t, err)
			d.Status = tributary.OutboxFailed
			must(t, s.UpdateOutbox(ctx, d))
			cs, err := s.CountOutbox(ctx)
			must(t, err)
			want := []tributary.DeliveryCount{{DestinationID: "d1", Type: "google_ads", Status: "failed", Count: 1}, {DestinationID: "d1", Type: "google_ads", Status: "pending", Count: 1}}
			if len(cs) != 2 || cs[0] != want[0] || cs[1] != want[1] {
				t.Fatalf("counts = %+v, want %+v", cs, want)
			}
		}},
		{"ConsentSwitch", func(t *testing.T, s tributary.MetaStore) {
			on, err := s.ConsentRequired(ctx, "s1")
			must(t, err)
			if on {
				t.Fatal("on by default")
			}
			must(t, s.SetConsentRequired(ctx, "s1", true))
			must(t, s.SetConsentRequired(ctx, "s1", true))
			if on, err = s.ConsentRequired(ctx, "s1"); err != nil || !on {
				t.Fatalf("after set = %v, %v", on, err)
			}
			must(t, s.SetConsentRequired(ctx, "s1", false))
			if on, err = s.ConsentRequired(ctx, "s1"); err != nil || on {
				t.Fatalf("after unset = %v, %v", on, err)
			}
			// The model is a setting beside it: neither overwrites the other.
			m, err := s.AttributionModel(ctx, "s2")
			must(t, err)
			if m != "" {
				t.Fatalf("model by default = %q", m)
			}
			must(t, s.SetAttributionModel(ctx, "s1", "first_touch"))
			must(t, s.SetAttributionModel(ctx, "s2", "linear"))
			must(t, s.SetConsentRequired(ctx, "s1", true))
			if m, err = s.AttributionModel(ctx, "s1"); err != nil || m != "first_touch" {
				t.Fatalf("model = %q, %v", m, err)
			}
			if on, err = s.ConsentRequired(ctx, "s1"); err != nil || !on {
				t.Fatalf("switch after the model = %v, %v", on, err)
			}
			if on, err = s.ConsentRequired(ctx, "s2"); err != nil || on {
				t.Fatalf("switch of a site with only a model = %v, %v", on, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}
