package duckdb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestSessionsFollowEvents pins the visits table: after a sync, batches of one visit in any order give
// the visit of all its events (first event's source, first and last pageviews), and the first start of
// an upgraded store repairs visits whose background sync was lost.
func TestSessionsFollowEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(min int, name, path, channel string) tributary.Event {
		return tributary.Event{SiteID: "s1", Timestamp: t0.Add(time.Duration(min) * time.Minute), Name: name, Source: "browser", VisitorID: "v1",
			SessionID: "o'brien", Hostname: "a.com", Path: path, Channel: channel, Country: "DE", Device: "mobile"}
	}
	// The later half arrives first.
	if err := s.InsertEvents(ctx, []tributary.Event{ev(10, "pageview", "/c", "Direct"), ev(12, "signup", "/c", "Direct")}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEvents(ctx, []tributary.Event{ev(0, "pageview", "/a", "Email"), ev(5, "pageview", "/b", "Direct")}); err != nil {
		t.Fatal(err)
	}
	check := func(s *duckdb.Store) {
		t.Helper()
		var start, end time.Time
		var pv, evs int64
		var entry, exit, channel string
		err := s.DB().QueryRow(`SELECT start_ts, end_ts, pv, ev, entry_page, exit_page, channel FROM sessions WHERE site_id = 's1' AND session_id = 'o''brien'`).
			Scan(&start, &end, &pv, &evs, &entry, &exit, &channel)
		if err != nil || !start.Equal(t0) || !end.Equal(t0.Add(12*time.Minute)) || pv != 3 || evs != 1 || entry != "/a" || exit != "/c" || channel != "Email" {
			t.Fatalf("visit = %v %v pv=%d ev=%d %s→%s %s (%v)", start, end, pv, evs, entry, exit, channel, err)
		}
	}
	// The visitor's next visit, whose prev_visit is the first one's start (from the Go pass of the
	// derivation, through the repair's connection too).
	later := ev(120, "pageview", "/d", "Direct")
	later.SessionID = "later"
	if err := s.InsertEvents(ctx, []tributary.Event{later}); err != nil {
		t.Fatal(err)
	}
	check(s)
	checkPrev := func(s *duckdb.Store) {
		t.Helper()
		var prev, prevChannel *time.Time
		if err := s.DB().QueryRow(`SELECT prev_visit, prev_channel FROM sessions WHERE session_id = 'later'`).Scan(&prev, &prevChannel); err != nil ||
			prev == nil || !prev.Equal(t0) || prevChannel != nil {
			t.Fatalf("the later visit's prev_visit = %v, prev_channel = %v (%v): want %v and none", prev, prevChannel, err, t0)
		}
	}
	checkPrev(s)
	// A store last written by a build that derived visits in the background may hold events without
	// their visits; migration 018 marks it, and the next start repairs them once.
	if _, err := s.DB().Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO settings VALUES ('visits_repair', 'pending')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	checkPrev(s)
	var left int
	if err := s.DB().QueryRow(`SELECT count(*) FROM settings WHERE key = 'visits_repair'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the repair mark is still there (%d, %v): every start would repair again", left, err)
	}
}

// TestPayerVisits pins the copies conversions are counted from: payer_visits holds exactly the sessions
// rows, every column alike, of the visitors linked to a payment, whether the link arrives after their
// visits or before them, through a late event that moves a stored visit's prev columns and ones that
// move a visit to or from a payer, across a restart, and no other visitor's; deleting the site clears
// them.
func TestPayerVisits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	visit := func(site, visitor, session string, at time.Time, channel string) tributary.Event {
		return tributary.Event{SiteID: site, Timestamp: at, Name: tributary.PageviewName, Source: "browser", VisitorID: visitor, SessionID: session,
			Hostname: "a.com", Path: "/", Channel: channel, Country: "DE"}
	}
	link := func(site, visitor, payment string) tributary.Identity {
		return tributary.Identity{SiteID: site, At: t0, VisitorID: visitor, PaymentID: payment, LinkMethod: tributary.LinkMetadata, Source: "stripe"}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The whole rows, as text, of payer_visits and of the sessions of the visitors in payers.
	const cols = `* EXCLUDE (session_key, visitor_key)`
	rowsOf := func(q string) []string {
		t.Helper()
		rows, err := s.DB().Query(`SELECT CAST(t AS VARCHAR) FROM (` + q + `) t ORDER BY 1`)
		must(err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var r string
			must(rows.Scan(&r))
			out = append(out, r)
		}
		must(rows.Err())
		return out
	}
	check := func(step string, payers ...string) {
		t.Helper()
		var in []string
		for _, p := range payers {
			in = append(in, "'"+p+"'")
		}
		want := []string(nil)
		if len(in) > 0 {
			want = rowsOf(`SELECT ` + cols + ` FROM sessions WHERE site_id || '/' || visitor_id IN (` + strings.Join(in, ", ") + `)`)
		}
		got := rowsOf(`SELECT * FROM payer_visits`)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: payer_visits\n%s\nwant the sessions rows of %v\n%s", step, strings.Join(got, "\n"), payers, strings.Join(want, "\n"))
		}
	}
	// early: visits, then the link. late: the link, then visits. other: identified, never linked to a payment.
	must(s.InsertEvents(ctx, []tributary.Event{visit("s1", "early", "e1", t0, "Email"), visit("s1", "early", "e2", t0.Add(2*time.Hour), "Direct"),
		visit("s1", "other", "o1", t0, "Direct"), visit("s2", "early", "x1", t0, "Direct")}))
	check("visits before any link")
	must(s.InsertIdentities(ctx, []tributary.Identity{link("s1", "early", "p1"), link("s1", "late", "p2"),
		{SiteID: "s1", At: t0, VisitorID: "other", PersonID: "ann@example.com", Source: "browser"}}))
	check("the links", "s1/early")
	must(s.InsertEvents(ctx, []tributary.Event{visit("s1", "late", "l1", t0.Add(time.Hour), "Direct"), visit("s1", "early", "e3", t0.Add(3*time.Hour), "Direct")}))
	check("visits after the links", "s1/early", "s1/late")
	// A late event of early's: a visit between e1 and e2 moves e2's and e3's prev columns.
	must(s.InsertEvents(ctx, []tributary.Event{visit("s1", "early", "e0", t0.Add(time.Hour), "Direct")}))
	check("a late visit", "s1/early", "s1/late")
	// An earlier event of o1 by late: the visit becomes late's, a payer's.
	must(s.InsertEvents(ctx, []tributary.Event{visit("s1", "late", "o1", t0.Add(-time.Minute), "Direct")}))
	check("a visit changing visitor", "s1/early", "s1/late")
	// And the other way: an earlier event of e3 by other takes a payer's visit away from them.
	must(s.InsertEvents(ctx, []tributary.Event{visit("s1", "other", "e3", t0.Add(3*time.Hour-time.Minute), "Direct")}))
	check("a visit leaving a payer", "s1/early", "s1/late")
	// Links of more visitors at once than are copied key by key (an import).
	var many []tributary.Event
	var links []tributary.Identity
	payers := []string{"s1/early", "s1/late"}
	for i := 0; i < 10; i++ {
		v := fmt.Sprintf("m%d", i)
		many = append(many, visit("s1", v, v+"a", t0, "Email"), visit("s1", v, v+"b", t0.Add(time.Hour), "Direct"))
		links = append(links, link("s1", v, "pm"+v))
		payers = append(payers, "s1/"+v)
	}
	must(s.InsertEvents(ctx, many))
	must(s.InsertIdentities(ctx, links))
	check("many links at once", payers...)
	must(s.Close())
	s, err = duckdb.Open(ctx, dir)
	must(err)
	check("after a restart", payers...)
	// A link on another site copies that site's visits only.
	must(s.InsertIdentities(ctx, []tributary.Identity{link("s2", "early", "p3")}))
	check("another site's link", append(payers, "s2/early")...)
	must(s.DeleteSiteData(ctx, "s1"))
	check("the site deleted", "s2/early")
}

// TestPayerVisitsRace stores a visitor's first visit and their link to a payment at the same moment, many
// times: whichever commits first, the visit must end up among the payer's visits (each write reads what
// the other committed only because the two take the events writer's lock in turn).
func TestPayerVisitsRace(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const rounds = 15
	for i := 0; i < rounds; i++ {
		v := fmt.Sprintf("v%d", i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs[0] = s.InsertEvents(ctx, []tributary.Event{{SiteID: "s1", Timestamp: t0.Add(time.Duration(i) * time.Minute), Name: tributary.PageviewName,
				Source: "browser", VisitorID: v, SessionID: "s" + v, Hostname: "a.com", Path: "/", Channel: "Direct"}})
		}()
		go func() {
			defer wg.Done()
			errs[1] = s.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: t0, VisitorID: v, PaymentID: "p" + v,
				LinkMethod: tributary.LinkMetadata, Source: "stripe"}})
		}()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM payer_visits`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != rounds {
		t.Fatalf("payer_visits holds %d of the %d payers' visits", n, rounds)
	}
}
