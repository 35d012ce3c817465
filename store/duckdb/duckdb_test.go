package duckdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/storetest"
)

func open(t *testing.T) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMetaStore(t *testing.T) {
	storetest.MetaStore(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}

func TestEventStore(t *testing.T) {
	storetest.EventStore(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

// TestReopenKeepsData pins that the file survives a restart and migrations are not re-applied.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.CreateSite(ctx, &tributary.Site{ID: "s1", Domain: "a.com", Name: "A", Currency: "EUR", Timezone: "Europe/Berlin", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: now, Name: "pageview"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Site(ctx, "s1")
	if err != nil || st.Currency != "EUR" {
		t.Fatalf("site after reopen = %+v, %v", st, err)
	}
	n, err := s.CountEvents(ctx, "s1", now, now.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("events after reopen = %d, %v", n, err)
	}
}

func TestWebhookStore(t *testing.T) {
	storetest.WebhookStore(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}

func TestConversions(t *testing.T) {
	storetest.Conversions(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestLinks(t *testing.T) {
	storetest.Links(t, func(t *testing.T) (tributary.MetaStore, tributary.EventStore) { s := open(t); return s, s })
}

func TestServerEvents(t *testing.T) {
	storetest.ServerEvents(t, func(t *testing.T) (tributary.MetaStore, tributary.EventStore) { s := open(t); return s, s })
}

func TestDestinations(t *testing.T) {
	storetest.Destinations(t, func(t *testing.T) tributary.MetaStore { return open(t) })
}

func TestSignals(t *testing.T) {
	storetest.Signals(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestIdentityKeys(t *testing.T) {
	storetest.IdentityKeys(t, func(t *testing.T) tributary.EventStore { return open(t) })
}

func TestTouches(t *testing.T) {
	storetest.Touches(t, func(t *testing.T) (tributary.EventStore, func() tributary.EventStore) {
		dir := t.TempDir()
		s, err := duckdb.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func() tributary.EventStore {
			s.Close()
			if s, err = duckdb.Open(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
