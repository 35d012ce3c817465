package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/postgres"
)

// TestMigrateStoreToClickHouse copies an embedded data dir into an empty ClickHouse database, checks the
// command's own verification passes, and that a second run refuses to copy twice.
func TestMigrateStoreToClickHouse(t *testing.T) {
	dsn := testenv.ClickHouseDSN(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	site := &tributary.Site{ID: "m1", Domain: "move.example", Name: "Move", Currency: "EUR", Timezone: "Europe/Berlin", Locale: "de-DE", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	var evs []tributary.Event
	for i := 0; i < 300; i++ {
		at := now.Add(-time.Duration(i) * 37 * time.Minute)
		evs = append(evs, tributary.Event{SiteID: "m1", Timestamp: at, Name: tributary.PageviewName, Source: tributary.SourceBrowser,
			VisitorID: "v" + string(rune('a'+i%20)), SessionID: "s" + string(rune('a'+i%60/3)) + at.Format("0102"), Hostname: "move.example", Path: "/x",
			Channel: []string{"Direct", "Organic Search", "Email"}[i%3], ReferrerSource: []string{"", "Google", "news"}[i%3], Country: "DE", Device: "mobile",
			Props: map[string]string{"k": "v"}})
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{{ID: "pay:p1", SiteID: "m1", Livemode: true, Kind: tributary.EntryPayment, PaymentID: "p1",
		OccurredAt: now.Add(-time.Hour), Amount: 4900, Currency: "EUR", ReportingAmount: 4900, ReportingCurrency: "EUR", Rate: "1", Converted: true, Source: "api"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdentities(ctx, []tributary.Identity{{SiteID: "m1", At: now.Add(-time.Hour), VisitorID: "vb", SessionID: evs[1].SessionID,
		PaymentID: "p1", LinkMethod: tributary.LinkMetadata, Source: "server"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAPIKey(ctx, &tributary.APIKey{ID: "k1", SiteID: "m1", Name: "backend", Prefix: "trk_", Hash: "h1",
		Scopes: []string{tributary.ScopeStatsRead}, RateLimit: 600, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetSettingIfAbsent(ctx, "cookieless_secret", "s3cret"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out, errOut bytes.Buffer
	args := []string{"migrate-store", "--data-dir", dir, "--events-dsn", dsn}
	if code := run(ctx, args, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Fatalf("migrate-store exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "300 events, 1 identities, 1 ledger entries") || !strings.Contains(out.String(), "checks answer identically") {
		t.Fatalf("output:\n%s", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, args, func(string) string { return "" }, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "empty database") {
		t.Fatalf("second run: exit %d, %s", code, errOut.String())
	}
	if code := run(ctx, []string{"migrate-store", "--data-dir", dir}, func(string) string { return "" }, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "needs --events-dsn") {
		t.Fatalf("without a destination: exit %d, %s", code, errOut.String())
	}

	// With --meta-dsn the MetaStore moves into PostgreSQL too: the site (with its locale), its key and
	// the cookieless secret (so visitor ids stay stable) are there.
	t.Run("with PostgreSQL", func(t *testing.T) {
		pgDSN, chDSN := testenv.PostgresDSN(t), testenv.ClickHouseDSN(t)
		out.Reset()
		errOut.Reset()
		if code := run(ctx, []string{"migrate-store", "--data-dir", dir, "--events-dsn", chDSN, "--meta-dsn", pgDSN}, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errOut.String())
		}
		pg, err := postgres.Open(ctx, pgDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		got, err := pg.Site(ctx, "m1")
		if err != nil || got.Locale != "de-DE" || got.Timezone != "Europe/Berlin" {
			t.Fatalf("site in PostgreSQL: %+v %v", got, err)
		}
		if k, err := pg.APIKeyByHash(ctx, "h1"); err != nil || k.SiteID != "m1" {
			t.Fatalf("key in PostgreSQL: %+v %v", k, err)
		}
		if v, err := pg.Setting(ctx, "cookieless_secret"); err != nil || v != "s3cret" {
			t.Fatalf("cookieless secret: %q %v", v, err)
		}
		if !strings.Contains(out.String(), "MetaStore: 1 sites, 1 API keys") || !strings.Contains(out.String(), "checks answer identically") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
}
