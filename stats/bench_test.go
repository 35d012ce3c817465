package stats

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/sqlmeta"
)

// The query benchmarks run over a generated site: 90 days of traffic ending at `now`, sessions of one
// to six events from a realistic channel mix, visitors returning, and about 2 % of sessions ending in a
// linked payment. Data sets are cached under the temp dir (tributary-statsbench-<events>), so only the
// first run of a size pays for generation.
//
//	go test -run '^$' -bench Dashboard ./stats/                           # 1M events
//	TRIBUTARY_BENCH_SIZES=1000000,10000000 go test -run '^$' -bench . -benchtime 5x ./stats/
func benchSizes() []int {
	s := os.Getenv("TRIBUTARY_BENCH_SIZES")
	if s == "" {
		return []int{1_000_000}
	}
	var out []int
	for _, f := range splitComma(s) {
		n, err := strconv.Atoi(f)
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

var benchSite = &tributary.Site{ID: "bench", Domain: "shop.example", Name: "Bench", Currency: "USD", Timezone: "UTC", Locale: "en-US"}

// benchStore opens (generating when absent) the cached data set of n events.
func benchStore(b *testing.B, n int) *duckdb.Store {
	b.Helper()
	st, err := duckdb.Open(context.Background(), benchDir(b, n), servedAs()...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// The visits by local day are rebuilt in the background after an upgrade; a page measured
	// meanwhile would read the visits.
	<-st.VisitsByDayBuilt()
	return st
}

// servedAs are the options `tributary serve` opens the store with by default (its memory limit, and the
// cache warmed before it listens), so a page is measured as a server answers it: without a limit DuckDB
// caches the whole store file and keeps the allocator's decay, and the dashboard at 10M events took two
// thirds of the time it takes served.
func servedAs() []duckdb.Option {
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return []duckdb.Option{duckdb.MemoryLimit(cfg.DuckDBMemoryLimitBytes()), duckdb.WarmCache()}
}

// benchDir is the directory of the cached data set of n events, generated when absent.
func benchDir(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tributary-statsbench-%d", n))
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		if n >= 100_000_000 && n%10_000_000 == 0 {
			multiply(b, dir, n)
		} else {
			st, err := duckdb.Open(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			generate(b, st, n)
			st.Close()
		}
		os.WriteFile(done, nil, 0o644)
		b.Logf("generated %d events in %v", n, time.Since(start).Round(time.Second))
	}
	return dir
}

func generate(b *testing.B, st tributary.EventStore, n int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, uint64(n)))
	type src struct{ channel, source, referrer, utmSource, utmMedium, campaign string }
	sources := []src{
		{"Organic Search", "Google", "www.google.com/", "", "", ""}, {"Organic Search", "Bing", "www.bing.com/", "", "", ""},
		{"Direct", "", "", "", "", ""}, {"Paid Search", "Google", "www.google.com/", "google", "cpc", "brand"},
		{"Paid Search", "Google", "www.google.com/", "google", "cpc", "generic"}, {"Organic Social", "Reddit", "www.reddit.com/", "", "", ""},
		{"Paid Social", "Facebook", "m.facebook.com/", "facebook", "paid_social", "retargeting"}, {"Email", "newsletter", "", "newsletter", "email", "weekly"},
		{"Referral", "news.ycombinator.com", "news.ycombinator.com/", "", "", ""}, {"AI Assistants", "ChatGPT", "chatgpt.com/", "", "", ""},
	}
	weights := []int{30, 5, 22, 8, 4, 7, 5, 6, 8, 5}
	pick := func() src {
		x := r.IntN(100)
		for i, w := range weights {
			if x < w {
				return sources[i]
			}
			x -= w
		}
		return sources[0]
	}
	countries := []string{"US", "US", "US", "DE", "GB", "FR", "IN", "BR", "CA", "JP", "NL", "ES"}
	devices := []string{"desktop", "desktop", "mobile", "mobile", "tablet"}
	browsers := []string{"Chrome", "Chrome", "Safari", "Firefox", "Edge"}
	oses := []string{"Windows", "macOS", "iOS", "Android", "Linux"}
	pages := []string{"/", "/pricing", "/features", "/blog/launch", "/blog/attribution", "/docs", "/signup", "/checkout"}
	span := 90 * 24 * time.Hour
	start := now.Add(-span)

	batch := make([]tributary.Event, 0, 100_000)
	var ledger []tributary.LedgerEntry
	var links []tributary.Identity
	flush := func() {
		if err := st.InsertEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	written, visitor, session, payment := 0, 0, 0, 0
	for written < n {
		visitor++
		vid := fmt.Sprintf("v%019d", visitor)
		country, device := countries[r.IntN(len(countries))], devices[r.IntN(len(devices))]
		browser, os := browsers[r.IntN(len(browsers))], oses[r.IntN(len(oses))]
		t := start.Add(time.Duration(r.Int64N(int64(span))))
		visits := 1 + r.IntN(3)
		for v := 0; v < visits && written < n; v++ {
			session++
			sid := fmt.Sprintf("s%019d", session)
			s := pick()
			events := 1 + r.IntN(6)
			for k := 0; k < events && written < n; k++ {
				e := tributary.Event{SiteID: benchSite.ID, Timestamp: t, Name: tributary.PageviewName, Source: tributary.SourceBrowser, VisitorID: vid,
					SessionID: sid, Hostname: "shop.example", Path: pages[r.IntN(len(pages))], Referrer: s.referrer, ReferrerSource: s.source,
					Channel: s.channel, UTMSource: s.utmSource, UTMMedium: s.utmMedium, UTMCampaign: s.campaign, Country: country,
					Device: device, Browser: browser, OS: os, ScreenWidth: 1280}
				if k > 0 && r.IntN(8) == 0 {
					e.Name, e.Props = "signup", map[string]string{"plan": []string{"free", "pro", "team"}[r.IntN(3)]}
				}
				batch = append(batch, e)
				written++
				if len(batch) == cap(batch) {
					flush()
				}
				t = t.Add(time.Duration(10+r.IntN(120)) * time.Second)
			}
			if r.IntN(50) == 0 {
				payment++
				pid := fmt.Sprintf("pi_%d", payment)
				amount := int64([]int{900, 2900, 4900, 9900, 19900}[r.IntN(5)])
				ledger = append(ledger, tributary.LedgerEntry{ID: "pay:" + pid, SiteID: benchSite.ID, Livemode: true, Kind: tributary.EntryPayment,
					PaymentID: pid, OccurredAt: t, Amount: amount, Currency: "USD", ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1",
					Converted: true, CustomerID: "cus_" + vid, Source: "stripe"})
				links = append(links, tributary.Identity{SiteID: benchSite.ID, At: t, VisitorID: vid, SessionID: sid, PaymentID: pid,
					LinkMethod: tributary.LinkMetadata, Source: "stripe", CustomerID: "cus_" + vid})
				if r.IntN(20) == 0 {
					ledger = append(ledger, tributary.LedgerEntry{ID: "refund:" + pid, SiteID: benchSite.ID, Livemode: true, Kind: tributary.EntryRefund,
						PaymentID: pid, OccurredAt: t.Add(48 * time.Hour), Amount: -amount, Currency: "USD", ReportingAmount: -amount,
						ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"})
				}
			}
			t = t.Add(time.Duration(1+r.IntN(72)) * time.Hour)
		}
	}
	flush()
	for i := 0; i < len(ledger); i += 5000 {
		j := min(i+5000, len(ledger))
		if _, err := st.InsertLedger(ctx, ledger[i:j]); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < len(links); i += 50_000 {
		j := min(i+50_000, len(links))
		if err := st.InsertIdentities(ctx, links[i:j]); err != nil {
			b.Fatal(err)
		}
	}
	if meta, ok := st.(tributary.MetaStore); ok {
		if err := meta.CreateSite(ctx, benchSite); err != nil {
			b.Fatal(err)
		}
	}
}

// multiply builds an n-event site from copies of the 10M one with renamed visitors, sessions and
// payments (the generator writes about 30k events a second; 100M would take an hour, a SQL copy takes
// minutes). The copies share the same 90 days, so the traffic is n/10M times denser.
func multiply(b *testing.B, dir string, n int) {
	seed := benchStore(b, 10_000_000)
	seedPath := filepath.Join(os.TempDir(), "tributary-statsbench-10000000", duckdb.FileName)
	seed.Close()
	st, err := duckdb.Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	if _, err := db.Exec(`ATTACH '` + seedPath + `' AS seed (READ_ONLY)`); err != nil {
		b.Fatal(err)
	}
	copies := n / 10_000_000
	for k := 0; k < copies; k++ {
		sfx := fmt.Sprintf("'-%d'", k)
		for _, q := range []string{
			`INSERT INTO events SELECT * REPLACE (visitor_id || ` + sfx + ` AS visitor_id, session_id || ` + sfx + ` AS session_id) FROM seed.events`,
			`INSERT INTO sessions SELECT * REPLACE (session_id || ` + sfx + ` AS session_id, visitor_id || ` + sfx + ` AS visitor_id,
				hash(site_id, session_id || ` + sfx + `) AS session_key, hash(site_id, visitor_id || ` + sfx + `) AS visitor_key) FROM seed.sessions`,
			`INSERT INTO ledger SELECT id || ` + sfx + `, site_id, livemode, kind, payment_id || ` + sfx + `, occurred_at, amount, currency,
				reporting_amount, reporting_currency, rate, rate_date, converted, CASE WHEN customer_id = '' THEN '' ELSE customer_id || ` + sfx + ` END,
				email, subscription_id, product, source, detail, recorded_at FROM seed.ledger`,
			`INSERT INTO identities SELECT * REPLACE (visitor_id || ` + sfx + ` AS visitor_id, session_id || ` + sfx + ` AS session_id,
				payment_id || ` + sfx + ` AS payment_id, customer_id || ` + sfx + ` AS customer_id) FROM seed.identities`,
		} {
			if _, err := db.Exec(q); err != nil {
				b.Fatalf("copy %d: %v", k, err)
			}
		}
	}
	// payer_visits (migration 019) is derived from sessions and the links: built here as the migration
	// builds it, once every copy is in.
	if _, err := db.Exec(`INSERT INTO payer_visits SELECT * EXCLUDE (session_key, visitor_key) FROM sessions
		WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM identities WHERE payment_id <> '' AND visitor_id <> '')
		ORDER BY start_ts`); err != nil {
		b.Fatal(err)
	}
	// So is paid_links (migration 022), from the links and the ledger.
	if _, err := db.Exec(`INSERT INTO paid_links SELECT i.site_id, i.ts, i.visitor_id, i.payment_id, p.livemode FROM identities i
		JOIN (SELECT DISTINCT site_id, payment_id, livemode FROM ledger WHERE kind = 'payment') p ON p.site_id = i.site_id AND p.payment_id = i.payment_id
		WHERE i.payment_id <> '' AND i.visitor_id <> '' ORDER BY i.ts`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO sites SELECT * FROM seed.sites`); err != nil {
		b.Fatal(err)
	}
	// The copies' payment touches are built when the store opens next (the stale mark).
	if _, err := db.Exec(`INSERT INTO touch_state VALUES ('bench', true) ON CONFLICT (site_id) DO UPDATE SET stale = true`); err != nil {
		b.Fatal(err)
	}
	db.Exec(`DETACH seed`)
}

// dashboardQueries are the queries the dashboard page runs for a 30-day range (web/dashboard.go):
// KPIs with comparison, MRR with comparison, the daily chart and eight breakdown panels.
func dashboardQueries() []map[string]any {
	base := func(metrics []string, dims []string, limit int, compare bool) map[string]any {
		q := map[string]any{"site_id": benchSite.ID, "metrics": metrics, "date_range": "30d"}
		if dims != nil {
			q["dimensions"] = dims
		}
		if limit > 0 {
			q["limit"] = limit
		}
		if compare {
			q["compare"] = "previous_period"
		}
		return q
	}
	qs := []map[string]any{
		base([]string{"visitors", "revenue", "net_revenue", "conversion_rate", "revenue_per_visitor", "average_order_value", "refunds"}, nil, 0, true),
		base([]string{"mrr"}, nil, 0, true),
		base([]string{"visitors"}, []string{"time:day"}, 10000, false),
	}
	for _, d := range []string{"visit:channel", "visit:source", "visit:utm_campaign", "visit:entry_page", "visit:country", "visit:device", "visit:browser", "visit:os"} {
		qs = append(qs, base([]string{"visitors", "conversions", "revenue", "conversion_rate"}, []string{d}, 10, false))
	}
	return qs
}

func runJSON(b *testing.B, e *Engine, q map[string]any) *Result {
	body, _ := json.Marshal(q)
	pq, err := ParseQuery(body, benchSite, now)
	if err != nil {
		b.Fatal(err)
	}
	res, err := e.Run(context.Background(), pq)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// idleGap is the pause before each page of the idle state: a user reading a page before the next click.
const idleGap = 3 * time.Second

// BenchmarkDashboard is the dashboard's full set of queries, two at a time and sharing one request's
// cache, as the page runs them; in the states benchStates describes.
func BenchmarkDashboard(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			qs := dashboardQueries()
			parsed := make([]*Query, len(qs))
			for i, q := range qs {
				body, _ := json.Marshal(q)
				pq, err := ParseQuery(body, benchSite, now)
				if err != nil {
					b.Fatal(err)
				}
				parsed[i] = pq
			}
			benchStates(b, n, func(b *testing.B, e *Engine) {
				// One page view, as web/dashboard.go runs it: two queries at a time, one cache.
				if _, err := e.RunAll(context.Background(), parsed, benchWorkers()); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// benchStates runs page in four states: warm (the page again at once, nothing written since), idle (the
// page again after idleGap without a query, as a user clicks from page to page; the pause is not
// timed), restart (the first page after the store is opened again: every cache cold; the reopening is
// not timed) and after-payment (one new payment, with its link to a recent visitor, stored before each
// page: live use; the write, which rewrites the payment's touches, is not timed).
func benchStates(b *testing.B, n int, page func(*testing.B, *Engine)) {
	b.Run("state=warm", func(b *testing.B) {
		st := benchStore(b, n)
		e := NewEngine(st.DB(), DuckDB{})
		page(b, e) // warm the buffer pool
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			page(b, e)
		}
	})
	b.Run("state=idle", func(b *testing.B) {
		st := benchStore(b, n)
		e := NewEngine(st.DB(), DuckDB{})
		page(b, e)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			time.Sleep(idleGap)
			b.StartTimer()
			page(b, e)
		}
	})
	b.Run("state=restart", func(b *testing.B) {
		dir := benchDir(b, n)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, err := duckdb.Open(context.Background(), dir, servedAs()...)
			if err != nil {
				b.Fatal(err)
			}
			<-st.VisitsByDayBuilt()
			e := NewEngine(st.DB(), DuckDB{})
			b.StartTimer()
			page(b, e)
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
	})
	b.Run("state=after-payment", func(b *testing.B) {
		st := benchStore(b, n)
		e := NewEngine(st.DB(), DuckDB{})
		ctx := context.Background()
		rows, err := st.DB().QueryContext(ctx, `SELECT visitor_id FROM sessions WHERE site_id = $1 AND start_ts < $2 ORDER BY start_ts DESC LIMIT 200`, benchSite.ID, now.Add(-2*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		var visitors []string
		for rows.Next() {
			var v string
			rows.Scan(&v)
			visitors = append(visitors, v)
		}
		rows.Close()
		b.Cleanup(func() {
			for _, t := range []string{"ledger", "identities", "payment_touches", "payment_picks", "paid_links"} {
				st.DB().Exec(`DELETE FROM ` + t + ` WHERE payment_id LIKE 'benchnew%'`)
			}
		})
		page(b, e)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			p := fmt.Sprintf("benchnew%d", i)
			v := visitors[i%len(visitors)]
			if _, err := st.InsertLedger(ctx, []tributary.LedgerEntry{{ID: "pay:" + p, SiteID: benchSite.ID, Livemode: true, Kind: "payment",
				PaymentID: p, OccurredAt: now.Add(-time.Hour), Amount: 4900, Currency: "USD", ReportingAmount: 4900, ReportingCurrency: "USD",
				Rate: "1", Converted: true, Source: "stripe"}}); err != nil {
				b.Fatal(err)
			}
			if err := st.InsertIdentities(ctx, []tributary.Identity{{SiteID: benchSite.ID, At: now.Add(-time.Hour), VisitorID: v, PaymentID: p,
				CustomerID: "cus_" + p, LinkMethod: "metadata", Source: "stripe"}}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			page(b, e)
		}
	})
}

// benchZones names the benchmark site's zone to the ClickHouse store, as main names every site's.
var benchZones = clickhouse.Zones(func(context.Context) (map[string]string, error) {
	return map[string]string{benchSite.ID: benchSite.Timezone}, nil
})

// BenchmarkClickHouse runs the dashboard set and one breakdown on ClickHouse, over the same generated
// data loaded through the ClickHouse EventStore (TRIBUTARY_BENCH_CLICKHOUSE_DSN names an empty
// database; the data stays there for reruns).
func BenchmarkClickHouse(b *testing.B) {
	dsn := os.Getenv("TRIBUTARY_BENCH_CLICKHOUSE_DSN")
	if dsn == "" {
		b.Skip("set TRIBUTARY_BENCH_CLICKHOUSE_DSN=clickhouse://default@127.0.0.1:9000/<empty database>")
	}
	// TRIBUTARY_BENCH_CLICKHOUSE_SEED names a database holding the 10M set (as loaded by this benchmark):
	// sizes of 100M and more that are a multiple of 10M are then copied from it (multiplyClickHouse).
	seed := os.Getenv("TRIBUTARY_BENCH_CLICKHOUSE_SEED")
	for _, n := range benchSizes() {
		st, err := clickhouse.Open(context.Background(), dsn, benchZones)
		if err != nil {
			b.Fatal(err)
		}
		// The generated visits run past now, so the count reaches a year ahead: up to now alone never
		// matched, and every run loaded the data again.
		if c, _ := st.CountEvents(context.Background(), benchSite.ID, time.Time{}, now.AddDate(1, 0, 0)); c != int64(n) {
			start := time.Now()
			if seed != "" && n >= 100_000_000 && n%10_000_000 == 0 {
				st.Close()
				multiplyClickHouse(b, dsn, seed, n)
				b.Logf("copied %d events into ClickHouse from %s in %v", n, seed, time.Since(start).Round(time.Second))
				if st, err = clickhouse.Open(context.Background(), dsn, benchZones); err != nil {
					b.Fatal(err)
				}
			} else {
				if err := st.DeleteSiteData(context.Background(), benchSite.ID); err != nil {
					b.Fatal(err)
				}
				generate(b, st, n)
				b.Logf("loaded %d events into ClickHouse in %v", n, time.Since(start).Round(time.Second))
			}
		}
		// As a node's job leaves it (store/clickhouse/visitsdone.go) on the benchmark's day: the visits
		// starting up to two days before now are finished, the last two days' are merged from the visits
		// table. A job of an earlier run, by the real clock, may have finished more.
		start := time.Now()
		if _, err := st.DB().Exec(`ALTER TABLE visit_days DELETE WHERE day >= toDate($1)`, now.AddDate(0, 0, -1).Format(time.DateOnly)); err != nil {
			b.Fatal(err)
		}
		for pending := 1; pending > 0; time.Sleep(50 * time.Millisecond) {
			if err := st.DB().QueryRow(`SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&pending); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.FinishVisitsBefore(context.Background(), now.AddDate(0, 0, -1)); err != nil {
			b.Fatal(err)
		}
		b.Logf("finished the visits before %s in %v", now.AddDate(0, 0, -1).Format(time.DateOnly), time.Since(start).Round(time.Millisecond))
		start = time.Now()
		if err := st.OpenVisits(context.Background(), now); err != nil {
			b.Fatal(err)
		}
		b.Logf("summed the open days in %v", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		if err := st.CopyPayers(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Logf("copied the payers' visits in %v", time.Since(start).Round(time.Millisecond))
		e := NewEngine(st.DB(), ClickHouse{})
		qs := dashboardQueries()
		if seed != "" && n%10_000_000 == 0 && n > 10_000_000 {
			checkMultiplied(b, e, dsn, seed, n/10_000_000, qs[3])
		}
		parsed := make([]*Query, len(qs))
		for i, q := range qs {
			body, _ := json.Marshal(q)
			if parsed[i], err = ParseQuery(body, benchSite, now); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("dashboard/events=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// As web/api runs a page, and as BenchmarkDashboard does: two queries at a time, one cache.
				if _, err := e.RunAll(context.Background(), parsed, benchWorkers()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("breakdown/events=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runJSON(b, e, qs[3])
			}
		})
		st.Close()
	}
}

// multiplyClickHouse builds an n-event site in the database of dsn from copies of the 10M one in database
// seed of the same server, as multiply does for the embedded store: each copy renames the visitors,
// sessions, payments, customers and people with a suffix, by INSERT … SELECT inside the server (loading
// 100M events through the store takes hours). The events go through the store's materialized views, so
// visits and visit_day_events fill as in real ingest, and so do the ledger's facts (ledger_entries). The
// tables the store derives in Go are copied renamed, since the copies differ from the seed in their ids
// alone: the payment touches and picks (as readers see them: the newest version of each row, not
// deleted), and the finished visits (visits_done) of each day's recorded generation with that record
// (visit_days), its count of events multiplied; a day whose record did not match the seed's events does
// not match here either and is finished again by FinishVisitsBefore. The database is emptied first; the
// seed is only read (and migrated).
func multiplyClickHouse(b *testing.B, dsn, seed string, n int) {
	c := newCopier(b, dsn, seed)
	defer c.db.Close()
	c.empty()
	renamed := map[string]bool{"visitor_id": true, "session_id": true, "payment_id": true, "customer_id": true, "person": true, "person_id": true, "id": true}
	copyTable := func(table, sfx, from string) {
		c.copy(table, from, func(col string) string {
			if renamed[col] {
				return `if(` + col + ` = '', '', concat(` + col + `, '` + sfx + `'))`
			}
			return col
		})
	}
	copies := n / 10_000_000
	current := `(site_id, day, gen) IN (SELECT site_id, day, max(gen) FROM ` + seed + `.visit_days GROUP BY site_id, day)`
	for k := 0; k < copies; k++ {
		sfx := fmt.Sprintf("-%d", k)
		copyTable("events", sfx, seed+`.events`)
		copyTable("ledger_facts", sfx, seed+`.ledger_facts`)
		copyTable("identities", sfx, seed+`.identities`)
		copyTable("payment_touches", sfx, seed+`.payment_touches FINAL WHERE deleted = 0`)
		copyTable("payment_picks", sfx, seed+`.payment_picks FINAL WHERE deleted = 0`)
		copyTable("visits_done", sfx, seed+`.visits_done WHERE `+current)
	}
	c.exec(fmt.Sprintf(`INSERT INTO visit_days (site_id, day, gen, events) SELECT site_id, day, max(gen), argMax(events, gen) * %d
		FROM %s.visit_days GROUP BY site_id, day`, copies, seed))
}

// copier fills a benchmark's ClickHouse database from a seed database of the same server by INSERT …
// SELECT inside the server.
type copier struct {
	b      *testing.B
	db     *sql.DB
	target string
}

// newCopier opens the database of dsn for copies from database seed, after the store's migrations have
// made its schema and brought the seed's up to date (the stores are closed again, so their
// finished-visits jobs do not run on a half-copied site).
func newCopier(b *testing.B, dsn, seed string) *copier {
	b.Helper()
	ctx := context.Background()
	for _, d := range []string{dsn, dsn[:strings.LastIndex(dsn, "/")+1] + seed} {
		st, err := clickhouse.Open(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
	// A copy of 10M events sends nothing back for minutes: past the driver's read timeout (5 minutes by
	// default) the connection is dropped and database/sql runs the INSERT again, copying it twice.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("clickhouse", dsn+sep+"read_timeout=2h")
	if err != nil {
		b.Fatal(err)
	}
	c := &copier{b: b, db: db}
	if err := db.QueryRowContext(ctx, `SELECT currentDatabase()`).Scan(&c.target); err != nil {
		b.Fatal(err)
	}
	if c.target == seed {
		b.Fatalf("the seed database %s is the target", seed)
	}
	return c
}

// exec runs q, logging it when it takes long.
func (c *copier) exec(q string) {
	c.b.Helper()
	start := time.Now()
	if _, err := c.db.ExecContext(context.Background(), q); err != nil {
		c.b.Fatalf("%.200s: %v", q, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		c.b.Logf("%v: %.100s", d.Round(time.Second), q)
	}
}

// empty truncates every table of the target but the record of its migrations (views keep nothing of
// their own).
func (c *copier) empty() {
	c.b.Helper()
	tables, err := sqlmeta.Query(context.Background(), c.db, sqlmeta.Value[string],
		`SELECT name FROM system.tables WHERE database = $1 AND engine LIKE '%MergeTree' AND name != 'schema_migrations'`, c.target)
	if err != nil || len(tables) == 0 {
		c.b.Fatalf("tables of %s: %v (%d found)", c.target, err, len(tables))
	}
	for _, t := range tables {
		c.exec(`TRUNCATE TABLE ` + t)
	}
}

// copy inserts into table, for each of its columns, expr(column) (the column itself when expr is nil)
// selected from from.
func (c *copier) copy(table, from string, expr func(col string) string) {
	c.b.Helper()
	cols, err := sqlmeta.Query(context.Background(), c.db, sqlmeta.Value[string],
		`SELECT name FROM system.columns WHERE database = $1 AND table = $2`, c.target, table)
	if err != nil || len(cols) == 0 {
		c.b.Fatalf("columns of %s: %v (%d found)", table, err, len(cols))
	}
	exprs := cols
	if expr != nil {
		exprs = make([]string, len(cols))
		for i, col := range cols {
			exprs[i] = expr(col)
		}
	}
	c.exec(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) SELECT ` + strings.Join(exprs, ", ") + ` FROM ` + from)
}

// checkMultiplied compares the copied site with its seed: every table's count, and one breakdown's
// answer, must be copies times the seed's (the copies are the seed's site with other ids).
func checkMultiplied(b *testing.B, e *Engine, dsn, seed string, copies int, q map[string]any) {
	ctx := context.Background()
	i := strings.LastIndex(dsn, "/")
	sdb, err := sql.Open("clickhouse", dsn[:i+1]+seed)
	if err != nil {
		b.Fatal(err)
	}
	defer sdb.Close()
	for _, c := range []string{
		`SELECT count() FROM events`,
		`SELECT count() FROM (SELECT session_id FROM visits GROUP BY site_id, session_id)`,
		`SELECT sum(events) FROM visit_day_events`,
		`SELECT count() FROM ledger`,
		`SELECT sum(reporting_amount) FROM ledger`,
		`SELECT count() FROM identities`,
		`SELECT count() FROM payment_touches FINAL WHERE deleted = 0`,
		`SELECT count() FROM payment_picks FINAL WHERE deleted = 0`,
		`SELECT count() FROM ledger_entries FINAL`,
		`SELECT count() FROM visits_done WHERE (site_id, day, gen) IN (SELECT site_id, day, max(gen) FROM visit_days GROUP BY site_id, day)`,
	} {
		var got, base int64
		if err := e.db.QueryRowContext(ctx, c).Scan(&got); err != nil {
			b.Fatalf("%s: %v", c, err)
		}
		if err := sdb.QueryRowContext(ctx, c).Scan(&base); err != nil {
			b.Fatalf("%s (seed): %v", c, err)
		}
		b.Logf("check: %s: %d, seed %d (%.4f×)", c, got, base, float64(got)/float64(base))
		if got != int64(copies)*base {
			b.Errorf("check: %s: %d, want %d × %d", c, got, copies, base)
		}
	}
	start := time.Now()
	res := runJSON(b, NewEngine(sdb, ClickHouse{}), q)
	b.Logf("check: the breakdown on the seed in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	copied := runJSON(b, e, q)
	b.Logf("check: the breakdown on the copies in %v", time.Since(start).Round(time.Millisecond))
	want := map[string]ResultRow{}
	for _, r := range res.Results {
		want[strings.Join(r.Dimensions, "/")] = r
	}
	if len(copied.Results) != len(res.Results) {
		b.Errorf("check: %d rows, seed %d", len(copied.Results), len(res.Results))
	}
	for _, r := range copied.Results {
		key := strings.Join(r.Dimensions, "/")
		w, ok := want[key]
		if !ok {
			b.Errorf("check: row %s not in the seed's answer", key)
			continue
		}
		got, _ := json.Marshal(r.Metrics)
		base, _ := json.Marshal(w.Metrics)
		b.Logf("check: %s: %s, seed %s", key, got, base)
		var g, s []json.Number
		json.Unmarshal(got, &g)
		json.Unmarshal(base, &s)
		for m := range g {
			gr, ok1 := new(big.Rat).SetString(string(g[m]))
			sr, ok2 := new(big.Rat).SetString(string(s[m]))
			if !ok1 || !ok2 {
				b.Errorf("check: %s: metric %d: %s, seed %s", key, m, g[m], s[m])
				continue
			}
			if m < 3 { // visitors, conversions, revenue: copies times; conversion rate: the same
				sr.Mul(sr, big.NewRat(int64(copies), 1))
			}
			if gr.Cmp(sr) != 0 {
				b.Errorf("check: %s: metric %d: %s, want %s", key, m, g[m], sr.FloatString(2))
			}
		}
	}
}

// BenchmarkBreakdown is one panel: visitors, conversions, revenue and conversion rate by channel.
func BenchmarkBreakdown(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			q := dashboardQueries()[3]
			benchStates(b, n, func(b *testing.B, e *Engine) {
				if res := runJSON(b, e, q); len(res.Results) == 0 {
					b.Fatal("no rows")
				}
			})
		})
	}
}

// BenchmarkSync is what the writer pays after a batch to keep the derived tables: one new event of a
// returning visitor, in a visit whose id sorts among the stored ones (as random tracker ids do, so no
// range of the table can be skipped), stored with the sync that recomputes the visit and the visitor's
// prev columns and the touches check. The events are removed afterwards.
func BenchmarkSync(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			st := benchStore(b, n)
			ctx := context.Background()
			var visitor string
			if err := st.DB().QueryRowContext(ctx, `SELECT visitor_id FROM sessions WHERE site_id = $1 ORDER BY start_ts DESC LIMIT 1 OFFSET 1000`, benchSite.ID).Scan(&visitor); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				for _, t := range []string{"events", "sessions"} {
					if _, err := st.DB().Exec(`DELETE FROM ` + t + ` WHERE session_id LIKE 's0000000000000500000-sync%'`); err != nil {
						b.Error(err)
					}
				}
			})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := st.InsertEvents(ctx, []tributary.Event{{SiteID: benchSite.ID, Timestamp: now.Add(time.Duration(i) * time.Second), Name: tributary.PageviewName,
					Source: tributary.SourceBrowser, VisitorID: visitor, SessionID: fmt.Sprintf("s0000000000000500000-sync%d", i), Hostname: "shop.example",
					Path: "/pricing", Channel: "Direct", Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("TRIBUTARY_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 2
}
