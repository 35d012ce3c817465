package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/postgres"
	"github.com/tributary/tributary/store/storetest"
)

func open(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func events(t *testing.T) tributary.EventStore {
	t.Helper()
	e, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestMetaStore(t *testing.T) {
	storetest.MetaStore(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}

func TestWebhookStore(t *testing.T) {
	storetest.WebhookStore(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}

func TestLinks(t *testing.T) {
	storetest.Links(t, func(t *testing.T) (tributary.MetaStore, tributary.EventStore) { return open(t), events(t) })
}

func TestServerEvents(t *testing.T) {
	storetest.ServerEvents(t, func(t *testing.T) (tributary.MetaStore, tributary.EventStore) { return open(t), events(t) })
}

// TestTwoNodesClaimEachDeliveryOnce runs two stores on one database, as two nodes would, claiming the
// same inbox at once: every delivery is claimed by exactly one of them.
func TestTwoNodesClaimEachDeliveryOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	a, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 200; i++ {
		d := &tributary.Delivery{ID: fmt.Sprint("d", i), SiteID: "s1", EndpointID: "e", ReceivedAt: now, EventID: fmt.Sprint("evt_", i), Type: "x",
			EventCreated: now.Add(time.Duration(i) * time.Second), Status: tributary.DeliveryPending, Payload: []byte(`{}`)}
		if _, err := a.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*postgres.Store{a, b, a, b} {
		wg.Add(1)
		go func(s *postgres.Store) {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(ctx, 7, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		}(s)
	}
	wg.Wait()
	if len(claimed) != 200 {
		t.Fatalf("%d deliveries claimed, want 200", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("%s claimed %d times", id, n)
		}
	}
}

// TestRateLimitSharedAcrossNodes takes tokens of one key from two stores at once: together they grant
// exactly the limit.
func TestRateLimitSharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	a, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(s *postgres.Store) {
			defer wg.Done()
			d, err := s.TakeTokens(ctx, "key1", 40, 1, now)
			if err != nil {
				t.Error(err)
				return
			}
			if d.OK {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}([]*postgres.Store{a, b}[i%2])
	}
	wg.Wait()
	if granted != 40 {
		t.Fatalf("granted %d of 60 at one instant across two nodes, want the limit 40", granted)
	}
}

func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	if tributary.ErrorCode(err) != tributary.EUNAVAILABLE {
		t.Fatalf("closed port: %v, want unavailable", err)
	}
}

func TestDestinations(t *testing.T) {
	storetest.Destinations(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}
