package metacache_test

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/metacache"
	"github.com/tributary/tributary/store/duckdb"
)

// counting counts the endpoint reads that reach the store.
type counting struct {
	tributary.MetaStore
	reads int
}

func (c *counting) StripeEndpoint(ctx context.Context, id string) (*tributary.StripeEndpoint, error) {
	c.reads++
	return c.MetaStore.StripeEndpoint(ctx, id)
}

// TestWritesKeepCachesFresh pins that the wrapper's own writes, not its callers, keep the caches
// fresh: an endpoint read is served from memory until it is written or its site deleted, and site and
// rate writes are reported.
func TestWritesKeepCachesFresh(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inner := &counting{MetaStore: st}
	var sites []string
	rates := 0
	c := metacache.New(inner, metacache.Options{Now: func() time.Time { return now },
		SiteChanged: func(id string) { sites = append(sites, id) }, RatesChanged: func() { rates++ }})

	site := &tributary.Site{ID: "s1", Domain: "example.com", Currency: "USD", Timezone: "UTC", CreatedAt: now, UpdatedAt: now}
	if err := c.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	ep := &tributary.StripeEndpoint{ID: "we_1", SiteID: "s1", Mode: tributary.ModeLive, Secrets: []string{"whsec_a"}, CreatedAt: now, UpdatedAt: now}
	if err := c.CreateStripeEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	read := func() *tributary.StripeEndpoint {
		t.Helper()
		got, err := c.StripeEndpoint(ctx, "we_1")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	read().Secrets[0] = "changed by a caller" // each caller gets its own copy
	if got := read(); inner.reads != 1 || got.Secrets[0] != "whsec_a" {
		t.Fatalf("second read: %d store reads, secrets %v; want 1 and the stored secret", inner.reads, got.Secrets)
	}
	ep.Secrets = []string{"whsec_b", "whsec_a"}
	if err := c.UpdateStripeEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Secrets[0] != "whsec_b" || inner.reads != 2 {
		t.Fatalf("after a rotation: secrets %v after %d store reads", got.Secrets, inner.reads)
	}
	now = now.Add(metacache.DefaultEndpointTTL)
	if read(); inner.reads != 3 {
		t.Fatalf("after the TTL: %d store reads, want 3", inner.reads)
	}

	if err := c.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSetting(ctx, tributary.SiteSettingKey("s1", "referrer_exclude"), "a.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSetting(ctx, "server_wide", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutExchangeRates(ctx, []tributary.ExchangeRate{{Date: "2026-01-02", Currency: "USD", PerEUR: "1.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSite(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if len(sites) != 3 || sites[0] != "s1" || sites[1] != "s1" || sites[2] != "s1" || rates != 1 {
		t.Fatalf("reported sites %v and %d rate writes; want s1 three times (update, own setting, delete) and 1", sites, rates)
	}
	if _, err := c.StripeEndpoint(ctx, "we_1"); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Fatalf("endpoint of a deleted site: %v, want ENOTFOUND", err)
	}
}
