package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// ServerEvents runs the suite of the server-to-server API state.
func ServerEvents(t *testing.T, open func(t *testing.T) (tributary.MetaStore, tributary.EventStore)) {
	ctx := context.Background()
	t.Run("ClaimOnceUnderConcurrency", func(t *testing.T) {
		m, _ := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := m.ClaimServerEventID(ctx, "s1", "evt-1", Clock)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d claims won, want 1", won)
		}
		ok, err := m.ClaimServerEventID(ctx, "s2", "evt-1", Clock)
		must(t, err)
		if !ok {
			t.Fatal("event ids are per site")
		}
		must(t, m.ReleaseServerEventID(ctx, "s1", "evt-1"))
		ok, err = m.ClaimServerEventID(ctx, "s1", "evt-1", Clock)
		must(t, err)
		if !ok {
			t.Fatal("released id not claimable")
		}
	})
	t.Run("RevenueEventsKindsSubscriptions", func(t *testing.T) {
		m, _ := open(t)
		must(t, m.PutRevenueEvent(ctx, tributary.RevenueEvent{SiteID: "s1", Name: "purchase", AmountPath: "metadata.amount", Unit: "minor", UpdatedAt: Clock}))
		must(t, m.PutRevenueEvent(ctx, tributary.RevenueEvent{SiteID: "s1", Name: "purchase", AmountPath: "metadata.total", Unit: "major", CurrencyPath: "metadata.cur", UpdatedAt: Clock}))
		rs, err := m.RevenueEvents(ctx, "s1")
		must(t, err)
		if len(rs) != 1 || rs[0].AmountPath != "metadata.total" || rs[0].Unit != "major" || rs[0].CurrencyPath != "metadata.cur" {
			t.Fatalf("revenue events = %+v", rs)
		}
		wantCode(t, m.DeleteRevenueEvent(ctx, "s1", "nope"), tributary.ENOTFOUND)
		must(t, m.DeleteRevenueEvent(ctx, "s1", "purchase"))
		must(t, m.SetEventKind(ctx, "s1", "signup", tributary.KindConversion))
		must(t, m.SetEventKind(ctx, "s1", "signup", tributary.KindGoal))
		kinds, err := m.EventKinds(ctx, "s1")
		must(t, err)
		if kinds["signup"] != tributary.KindGoal || len(kinds) != 1 {
			t.Fatalf("kinds = %v", kinds)
		}
		// Kind "" makes the name unclassified again.
		must(t, m.SetEventKind(ctx, "s1", "signup", ""))
		must(t, m.SetEventKind(ctx, "s1", "never-classified", ""))
		if kinds, err = m.EventKinds(ctx, "s1"); err != nil || len(kinds) != 0 {
			t.Fatalf("after unclassifying: kinds = %v (%v)", kinds, err)
		}
		_, err = m.APISubscription(ctx, "s1", "sub")
		wantCode(t, err, tributary.ENOTFOUND)
		sub := &tributary.APISubscription{SiteID: "s1", SubscriptionID: "sub", CustomerID: "c", MRR: 2900, Currency: "USD", Active: true, UpdatedAt: Clock}
		must(t, m.PutAPISubscription(ctx, sub))
		sub.MRR = 4900
		must(t, m.PutAPISubscription(ctx, sub))
		got, err := m.APISubscription(ctx, "s1", "sub")
		must(t, err)
		if got.MRR != 4900 || !got.Active {
			t.Fatalf("sub = %+v", got)
		}
	})
	t.Run("EventNames", func(t *testing.T) {
		_, e := open(t)
		var evs []tributary.Event
		for i := 0; i < 5; i++ {
			src := tributary.SourceBrowser
			if i%2 == 0 {
				src = tributary.SourceServer
			}
			evs = append(evs, tributary.Event{SiteID: "s1", Timestamp: Clock.Add(time.Duration(i) * time.Minute), Name: fmt.Sprint("e", i%2), Source: src})
		}
		must(t, e.InsertEvents(ctx, evs))
		names, err := e.EventNames(ctx, "s1")
		must(t, err)
		if len(names) != 2 || names[0].Name != "e0" || names[0].Count != 3 || names[0].Server != 3 || !names[0].LastSeen.Equal(Clock.Add(4*time.Minute)) || names[1].Browser != 2 {
			t.Fatalf("names = %+v", names)
		}
	})
}
