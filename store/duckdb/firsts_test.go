package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// checkVisits compares the visits table with the visits worked out afresh from every event (one row per
// visit, nothing missing or extra) and checks each row's hashed keys.
func checkVisits(t *testing.T, s *Store, stage string) {
	t.Helper()
	base := strings.Join(sessionBase, ", ")
	var extra, missing, dup, badKeys int
	err := s.db.QueryRow(`SELECT
		(SELECT count(*) FROM (SELECT `+base+` FROM sessions EXCEPT ALL SELECT * FROM (`+sessionAgg+` GROUP BY site_id, session_id))),
		(SELECT count(*) FROM (SELECT * FROM (`+sessionAgg+` GROUP BY site_id, session_id) EXCEPT ALL SELECT `+base+` FROM sessions)),
		(SELECT count(*) - count(DISTINCT (site_id, session_id)) FROM sessions),
		(SELECT count(*) FROM sessions WHERE session_key IS DISTINCT FROM `+sessionKeyExpr+` OR visitor_key IS DISTINCT FROM `+visitorKeyExpr+`)`).
		Scan(&extra, &missing, &dup, &badKeys)
	if err != nil || extra+missing+dup+badKeys != 0 {
		t.Fatalf("%s: visits table: %d rows not from the events, %d visits missing, %d duplicated, %d with wrong keys (%v)", stage, extra, missing, dup, badKeys, err)
	}
}

// TestPrevColumnsFollowHistory feeds visits out of order (returning visitors, events arriving before
// earlier ones of the same visit, a late first event that changes a visit's channel) through several
// syncs, and checks every prev_* column against the windows computed over the whole table, both as
// the sync keeps them and as migration 011 rebuilds them.
func TestPrevColumnsFollowHistory(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// Every dimension takes a few values, '' among them, so a prev column computed from another
	// column's values (or from any value's) differs somewhere; visits of custom events alone have no
	// entry or exit page (NULL); two sites share visitor ids; starts on 200 hours give ties between
	// visitors; a quarter of the visits are their visitor's only one.
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	var evs []tributary.Event
	// One visitor's visits tied on a start with a fraction of a second, ordered by session id as bytes
	// ("s10" before "s9", "ß" after both): the window breaks ties by session id, and so must the write.
	tie := t0.Add(50*time.Hour + 123456*time.Microsecond)
	for i, session := range []string{"s9", "ß", "s10", "s9a"} {
		evs = append(evs, tributary.Event{SiteID: "s", Timestamp: tie, Name: "pageview", Source: "browser", VisitorID: "tied",
			SessionID: session, Hostname: "a.com", Path: "/", Channel: []string{"Direct", "Email"}[i%2], Country: "DE", Device: "desktop"})
	}
	for i := 0; i < 300; i++ {
		site, v := pick("s", "s2"), fmt.Sprintf("v%d", r.IntN(40))
		if r.IntN(4) == 0 {
			v = fmt.Sprintf("once%d", i) // a visitor of one visit, whose prevs are all NULL
		}
		at := t0.Add(time.Duration(r.IntN(200)) * time.Hour)
		name := pick("pageview", "pageview", "signup")
		for k := 0; k < 1+r.IntN(3); k++ {
			evs = append(evs, tributary.Event{SiteID: site, Timestamp: at.Add(time.Duration(k) * time.Minute), Name: name, Source: "browser",
				VisitorID: v, SessionID: fmt.Sprintf("s%d", i), Hostname: "a.com", Path: pick("/", "/a", "/b"),
				Channel: pick("Direct", "Email", "Organic Search"), ReferrerSource: pick("", "Google", "Bing"), Referrer: pick("", "google.com/", "bing.com/"),
				UTMSource: pick("", "news"), UTMMedium: pick("", "email"), UTMCampaign: pick("", "bf", "cm"), UTMTerm: pick("", "t"), UTMContent: pick("", "c"),
				ClickIDPlatform: pick("", "google_ads"), Country: pick("DE", "US", ""), Region: pick("", "BY"), Device: pick("desktop", "mobile"),
				Browser: pick("Firefox", "Chrome", ""), OS: pick("Linux", "iOS")})
		}
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	compare := func(stage string) {
		t.Helper()
		cols := strings.Join(prevColumns(), ", ")
		var diff int
		err := s.db.QueryRow(`SELECT count(*) FROM (SELECT site_id, session_id, ` + cols + ` FROM sessions EXCEPT ALL
			SELECT site_id, session_id, ` + cols + ` FROM (SELECT *, ` + prevWindows() + ` FROM (SELECT ` + strings.Join(sessionBase, ", ") + ` FROM sessions)))`).Scan(&diff)
		if err != nil || diff != 0 {
			t.Fatalf("%s: %d visits with wrong prev columns (%v)", stage, diff, err)
		}
		checkVisits(t, s, stage)
	}
	for i := 0; i < len(evs); i += 70 {
		if err := s.InsertEvents(ctx, evs[i:min(i+70, len(evs))]); err != nil {
			t.Fatal(err)
		}
		compare(fmt.Sprintf("after batch %d", i/70))
	}
	// A first event arriving last moves a visit's start earlier and changes its channel.
	late := evs[0]
	late.Timestamp, late.Channel = late.Timestamp.Add(-time.Hour), "Paid Social"
	if err := s.InsertEvents(ctx, []tributary.Event{late}); err != nil {
		t.Fatal(err)
	}
	compare("after a late first event")
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM sessions WHERE prev_visit IS NOT NULL`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("no returning visits in the data (%v)", err)
	}
	// Migration 011's rebuild gives the same columns.
	b, err := migrations.ReadFile("migrations/011_visit_firsts.sql")
	if err != nil {
		t.Fatal(err)
	}
	rebuild := string(b)[strings.Index(string(b), "CREATE TABLE sessions_rebuild"):]
	// Later migrations added columns (the visit keys), which the rebuild leaves to the store to fill.
	rebuild = strings.Replace(rebuild, "INSERT INTO sessions SELECT", "INSERT INTO sessions BY NAME SELECT", 1)
	if _, err := s.db.Exec(`UPDATE sessions SET prev_visit = NULL, prev_channel = NULL`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(rebuild, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.fillVisitKeys(ctx); err != nil {
		t.Fatal(err)
	}
	compare("after the migration's rebuild")
}

// prevWindows computes the prev_* columns over a relation of whole visitor histories, one window per
// column, as migration 011 defines them: the oracle the write's writePrevs is checked against.
func prevWindows() string {
	order := " ORDER BY start_ts, session_id)"
	cols := []string{"lag(start_ts) OVER (PARTITION BY site_id, visitor_id" + order + " AS prev_visit"}
	for _, c := range prevDims {
		cols = append(cols, "lag(start_ts) OVER (PARTITION BY site_id, visitor_id, coalesce("+c+", '')"+order+" AS prev_"+c)
	}
	return strings.Join(cols, ", ")
}
