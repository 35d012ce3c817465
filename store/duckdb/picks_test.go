package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// TestPaymentPicksFollowTouches pins that ReplaceTouches rewrites the payments' picks with their touches
// (a payment's old picks go, its new ones come, other payments' stay), that each model picks the row
// tributary.TouchOrder describes at the default lookback of 30 days, and that migration 021's fill
// selects the same rows ReplaceTouches writes.
func TestPaymentPicksFollowTouches(t *testing.T) {
	// The picks are made at the default lookback, and stored ones are never redone: a new default needs
	// a migration that refills payment_picks (as 021 fills it), or money at the new default would be
	// credited by the old one.
	if attribution.DefaultLookbackDays != 30 {
		t.Fatalf("the default lookback is %d days, the stored picks 30: add a migration refilling payment_picks, then update this check", attribution.DefaultLookbackDays)
	}
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	paid := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	visit := func(session, channel string, daysBefore int, o tributary.TouchOrder) tributary.PaymentTouch {
		v := tributary.Visit{SessionID: session, VisitorID: "v1", Start: paid.AddDate(0, 0, -daysBefore)}
		v.Values[0] = channel
		o.Paid = paid
		return tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: v, TouchOrder: o}
	}
	day := func(n int) time.Time { return paid.AddDate(0, 0, -n) }
	member := tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: tributary.Visit{VisitorID: "v1", Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	unattributed := tributary.PaymentTouch{PaymentID: "p2", Visit: tributary.Visit{Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	unattributed.Values[0] = "Paid Search"
	// p1: an Email visit outside the lookback, then a Direct one inside it: every model picks the Direct
	// one (the last non-direct visit is too old, so last non-direct falls back to the last visit).
	first := []tributary.PaymentTouch{member,
		visit("s1", "Email", 40, tributary.TouchOrder{LastNonDirect: true}),
		visit("s2", "Direct", 10, tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(40), Last: true}),
		unattributed}
	if err := s.ReplaceTouches(ctx, "site", []string{"p1", "p2"}, first); err != nil {
		t.Fatal(err)
	}
	// The migration's fill, run again into a copy of the table, must give the same rows each time.
	body, err := migrations.ReadFile("migrations/021_payment_picks.sql")
	if err != nil {
		t.Fatal(err)
	}
	fill := "INSERT INTO migrated " + string(body[strings.Index(string(body), "SELECT site_id"):])
	if _, err := s.db.ExecContext(ctx, `CREATE TEMP TABLE migrated AS SELECT * FROM payment_picks WHERE false`); err != nil {
		t.Fatal(err)
	}
	check := func(want []string) {
		t.Helper()
		if got := picks(t, s, "payment_picks"); !slices.Equal(got, want) {
			t.Fatalf("picks:\n got %v\nwant %v", got, want)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM migrated`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, fill); err != nil {
			t.Fatal(err)
		}
		if got := picks(t, s, "migrated"); !slices.Equal(got, want) {
			t.Fatalf("migration 021's picks:\n got %v\nwant %v", got, want)
		}
	}
	check([]string{"first_touch p1 Direct", "first_touch p2 Paid Search", "last_non_direct p1 Direct", "last_non_direct p2 Paid Search",
		"last_touch p1 Direct", "last_touch p2 Paid Search"})
	// A later Email visit of p1 (a late event, say): the first touch stays Direct, the last and the last
	// non-direct move to it, and p2's picks are untouched.
	second := []tributary.PaymentTouch{member,
		visit("s1", "Email", 40, tributary.TouchOrder{LastNonDirectStart: day(5)}),
		visit("s2", "Direct", 10, tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(5)}),
		visit("s3", "Email", 5, tributary.TouchOrder{Prev: day(10), LastNonDirectStart: day(5), Last: true, LastNonDirect: true})}
	if err := s.ReplaceTouches(ctx, "site", []string{"p1"}, second); err != nil {
		t.Fatal(err)
	}
	check([]string{"first_touch p1 Direct", "first_touch p2 Paid Search", "last_non_direct p1 Email", "last_non_direct p2 Paid Search",
		"last_touch p1 Email", "last_touch p2 Paid Search"})

	// Replacing a payment's touches with none leaves it no pick.
	if err := s.ReplaceTouches(ctx, "site", []string{"p2"}, nil); err != nil {
		t.Fatal(err)
	}
	check([]string{"first_touch p1 Direct", "last_non_direct p1 Email", "last_touch p1 Email"})
}

// picks lists a picks table's rows as "model payment channel", sorted.
func picks(t *testing.T, s *Store, table string) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT model, payment_id, channel FROM ` + table + ` ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m, p, c string
		if err := rows.Scan(&m, &p, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(m, " ", p, " ", c))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
