package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// TestPaidLinksFollowLinksAndLedger pins that paid_links holds exactly the links of visitors to payments
// the ledger holds as payments, with their mode, whichever of the link and the payment entry is written
// first, and that migration 022's fill selects the same rows.
func TestPaidLinksFollowLinksAndLedger(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A link's time is its own (a relink is made later than the payment): the rows carry the link's.
	paid := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	linked := paid.Add(90 * time.Minute)
	entryOf := func(site, id, kind, payment string, live bool) tributary.LedgerEntry {
		return tributary.LedgerEntry{ID: id, SiteID: site, Livemode: live, Kind: kind, PaymentID: payment, OccurredAt: paid, Amount: 900,
			Currency: "USD", ReportingAmount: 900, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}
	}
	entry := func(id, kind, payment string, live bool) tributary.LedgerEntry {
		return entryOf("site", id, kind, payment, live)
	}
	linkOf := func(site, visitor, payment string) tributary.Identity {
		return tributary.Identity{SiteID: site, At: linked, VisitorID: visitor, PaymentID: payment, LinkMethod: tributary.LinkMetadata, Source: "stripe"}
	}
	link := func(visitor, payment string) tributary.Identity { return linkOf("site", visitor, payment) }
	relink := func(visitor, payment string) tributary.Identity {
		l := link(visitor, payment)
		l.At = l.At.Add(time.Hour)
		return l
	}
	body, err := migrations.ReadFile("migrations/022_paid_links.sql")
	if err != nil {
		t.Fatal(err)
	}
	fill := "INSERT INTO migrated " + string(body[strings.Index(string(body), "SELECT i.site_id"):])
	// A table of its own, not a temporary one: the concurrent writes below open other connections.
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE migrated AS SELECT * FROM paid_links WHERE false`); err != nil {
		t.Fatal(err)
	}
	check := func(step string, want []string) {
		t.Helper()
		if got := paidLinks(t, s, "paid_links"); !slices.Equal(got, want) {
			t.Fatalf("%s: paid links:\n got %v\nwant %v", step, got, want)
		}
		for _, q := range []string{`DELETE FROM migrated`, fill} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if got := paidLinks(t, s, "migrated"); !slices.Equal(got, want) {
			t.Fatalf("%s: migration 022's paid links:\n got %v\nwant %v", step, got, want)
		}
	}
	steps := []struct {
		name  string
		links []tributary.Identity
		led   []tributary.LedgerEntry
		want  []string
	}{
		{"a link before its payment", []tributary.Identity{link("v1", "p1")}, nil, nil},
		{"the payment arrives", nil, []tributary.LedgerEntry{entry("pay:p1", tributary.EntryPayment, "p1", true)}, []string{"p1 v1 live"}},
		{"a payment before its link", nil, []tributary.LedgerEntry{entry("pay:p2", tributary.EntryPayment, "p2", false)}, []string{"p1 v1 live"}},
		{"the test-mode link arrives", []tributary.Identity{link("v2", "p2")}, nil, []string{"p1 v1 live", "p2 v2 test"}},
		{"a second visitor of a payment, a refund of it, its entry again", []tributary.Identity{relink("v3", "p1")},
			[]tributary.LedgerEntry{entry("refund:p1", tributary.EntryRefund, "p1", true), entry("pay:p1", tributary.EntryPayment, "p1", true)},
			[]string{"p1 v1 live", "p1 v3 live", "p2 v2 test"}},
		{"a link to a payment with a refund only, a link without a visitor", []tributary.Identity{link("v4", "p3"), {SiteID: "site", At: linked, CustomerID: "cus_1", PaymentID: "p1"}},
			[]tributary.LedgerEntry{entry("refund:p3", tributary.EntryRefund, "p3", true)},
			[]string{"p1 v1 live", "p1 v3 live", "p2 v2 test"}},
		{"the refunded payment's entry under another id", nil, []tributary.LedgerEntry{entry("pay:p3:again", tributary.EntryPayment, "p3", true)},
			[]string{"p1 v1 live", "p1 v3 live", "p2 v2 test", "p3 v4 live"}},
		{"another site's payment and link under the same ids", []tributary.Identity{linkOf("other", "v9", "p1"), linkOf("other", "v8", "p2")},
			[]tributary.LedgerEntry{entryOf("other", "pay:p1", tributary.EntryPayment, "p1", false)},
			[]string{"other p1 v9 test", "p1 v1 live", "p1 v3 live", "p2 v2 test", "p3 v4 live"}},
		{"a payment entry of the other mode", nil, []tributary.LedgerEntry{entry("pay:p2:live", tributary.EntryPayment, "p2", true)},
			[]string{"other p1 v9 test", "p1 v1 live", "p1 v3 live", "p2 v2 live", "p2 v2 test", "p3 v4 live"}},
		{"two sites' payments of one id in one write", []tributary.Identity{link("v5", "p5"), linkOf("other", "v6", "p5")},
			[]tributary.LedgerEntry{entry("pay:p5", tributary.EntryPayment, "p5", true), entryOf("other", "pay:p5", tributary.EntryPayment, "p5", false)},
			[]string{"other p1 v9 test", "other p5 v6 test", "p1 v1 live", "p1 v3 live", "p2 v2 live", "p2 v2 test", "p3 v4 live", "p5 v5 live"}},
		// Sites and payments paired as written, not crossed.
		{"two sites' payments of other ids in one write", []tributary.Identity{link("v7", "p7"), linkOf("other", "v8", "p8")},
			[]tributary.LedgerEntry{entry("pay:p7", tributary.EntryPayment, "p7", true), entryOf("other", "pay:p8", tributary.EntryPayment, "p8", true)},
			[]string{"other p1 v9 test", "other p5 v6 test", "other p8 v8 live", "p1 v1 live", "p1 v3 live", "p2 v2 live", "p2 v2 test", "p3 v4 live",
				"p5 v5 live", "p7 v7 live"}},
	}
	for _, st := range steps {
		if err := s.InsertIdentities(ctx, st.links); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InsertLedger(ctx, st.led); err != nil {
			t.Fatal(err)
		}
		check(st.name, st.want)
	}

	// Bulk writes, as an import or the benchmarks' generator makes: a thousand links, then two thousand
	// payments (half of them those links'), then the other thousand links, each in one call.
	var bulkEntries []tributary.LedgerEntry
	var bulkLinks []tributary.Identity
	for i := 0; i < 2000; i++ {
		p := fmt.Sprintf("b%d", i)
		bulkEntries = append(bulkEntries, entry("pay:"+p, tributary.EntryPayment, p, i%2 == 0))
		bulkLinks = append(bulkLinks, link(fmt.Sprintf("bv%d", i), p))
	}
	if err := s.InsertIdentities(ctx, bulkLinks[:1000]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertLedger(ctx, bulkEntries); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertIdentities(ctx, bulkLinks[1000:]); err != nil {
		t.Fatal(err)
	}
	var bulk, bulkLive int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE livemode) FROM paid_links WHERE payment_id LIKE 'b%'`).Scan(&bulk, &bulkLive); err != nil {
		t.Fatal(err)
	}
	if bulk != 2000 || bulkLive != 1000 {
		t.Fatalf("bulk: %d paid links, %d live; want 2000, 1000", bulk, bulkLive)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM paid_links WHERE payment_id LIKE 'b%'; DELETE FROM identities WHERE payment_id LIKE 'b%'; DELETE FROM ledger WHERE payment_id LIKE 'b%'`); err != nil {
		t.Fatal(err)
	}

	// Links and their payments written at the same time, each from its own goroutine: neither misses
	// the other.
	var wg sync.WaitGroup
	want := paidLinks(t, s, "paid_links")
	for i := 0; i < 20; i++ {
		p, v := fmt.Sprintf("c%d", i), fmt.Sprintf("cv%d", i)
		want = append(want, p+" "+v+" live")
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.InsertIdentities(ctx, []tributary.Identity{link(v, p)}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.InsertLedger(ctx, []tributary.LedgerEntry{entry("pay:"+p, tributary.EntryPayment, p, true)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	slices.Sort(want)
	check("links and payments at once", want)

	if err := s.DeleteSiteData(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	check("the site's data deleted", []string{"other p1 v9 test", "other p5 v6 test", "other p8 v8 live"})
}

// paidLinks lists a paid links table's rows as "[site ]payment visitor mode", sorted, each checked to
// carry its link's time.
func paidLinks(t *testing.T, s *Store, table string) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT CASE WHEN site_id = 'site' THEN '' ELSE site_id || ' ' END || payment_id, visitor_id,
		CASE WHEN livemode THEN 'live' ELSE 'test' END FROM ` + table + ` ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	// Each row is at its own link's time (not its payment's, nor another link's of the payment).
	var off int
	if err := s.db.QueryRow(`SELECT count(*) FROM ` + table + ` p WHERE NOT EXISTS (SELECT 1 FROM identities i
		WHERE i.site_id = p.site_id AND i.visitor_id = p.visitor_id AND i.payment_id = p.payment_id AND i.ts = p.ts)`).Scan(&off); err != nil {
		t.Fatal(err)
	}
	if off > 0 {
		t.Fatalf("%s: %d rows not at their link's time", table, off)
	}
	var out []string
	for rows.Next() {
		var p, v, m string
		if err := rows.Scan(&p, &v, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, p+" "+v+" "+m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
