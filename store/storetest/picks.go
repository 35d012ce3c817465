package storetest

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/store/sqlmeta"
)

// PaymentPicks pins that a store keeping each payment's picks (stats.Dialect.Picks) rewrites them with
// the payment's touches: a payment's old picks go, its new ones come, other payments' stay, each model
// picks the row tributary.TouchOrder describes at the default lookback of 30 days, and the store's
// migration fills the same rows from the touches. picks lists the store's picks, and migrated the picks
// its migration's fill selects from the touches now, both as "model payment channel", sorted.
func PaymentPicks(t *testing.T, s interface {
	ReplaceTouches(ctx context.Context, siteID string, paymentIDs []string, rows []tributary.PaymentTouch) error
}, picks, migrated func(t *testing.T) []string) {
	// The picks are made at the default lookback, and stored ones are never redone: a new default needs
	// a migration that refills every store's picks, or money at the new default would be credited by the
	// old one.
	if attribution.DefaultLookbackDays != 30 {
		t.Fatalf("the default lookback is %d days, the stored picks 30: add migrations refilling the picks, then update this check", attribution.DefaultLookbackDays)
	}
	ctx := context.Background()
	paid := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return paid.AddDate(0, 0, -n) }
	visit := func(session, channel string, start time.Time, o tributary.TouchOrder) tributary.PaymentTouch {
		v := tributary.Visit{SessionID: session, VisitorID: "v1", Start: start}
		v.Values[0] = channel
		o.Paid = paid
		return tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: v, TouchOrder: o}
	}
	member := tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: tributary.Visit{VisitorID: "v1", Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	unattributed := tributary.PaymentTouch{PaymentID: "p2", Visit: tributary.Visit{Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	unattributed.Values[0] = "Paid Search"
	check := func(want ...string) {
		t.Helper()
		if got := picks(t); !slices.Equal(got, want) {
			t.Fatalf("picks:\n got %v\nwant %v", got, want)
		}
		if got := migrated(t); !slices.Equal(got, want) {
			t.Fatalf("the migration's picks:\n got %v\nwant %v", got, want)
		}
	}
	replace := func(payments []string, rows ...tributary.PaymentTouch) {
		t.Helper()
		if err := s.ReplaceTouches(ctx, "site", payments, rows); err != nil {
			t.Fatal(err)
		}
	}
	// p1: an Email visit outside the lookback, then a Direct one at its very start: every model picks the
	// Direct one (the last non-direct visit is too old, so last non-direct falls back to the last visit).
	replace([]string{"p1", "p2"}, member,
		visit("s1", "Email", day(40), tributary.TouchOrder{LastNonDirect: true}),
		visit("s2", "Direct", day(30), tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(40), Last: true}),
		unattributed)
	check("first_touch p1 Direct", "first_touch p2 Paid Search", "last_non_direct p1 Direct", "last_non_direct p2 Paid Search",
		"last_touch p1 Direct", "last_touch p2 Paid Search")
	// A later Email visit of p1 (a late event, say): the first touch stays Direct, the last and the last
	// non-direct move to it, and p2's picks are untouched.
	second := []tributary.PaymentTouch{member,
		visit("s1", "Email", day(40), tributary.TouchOrder{LastNonDirectStart: day(5)}),
		visit("s2", "Direct", day(30), tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(5)}),
		visit("s3", "Email", day(5), tributary.TouchOrder{Prev: day(30), LastNonDirectStart: day(5), Last: true, LastNonDirect: true})}
	replace([]string{"p1"}, second...)
	check("first_touch p1 Direct", "first_touch p2 Paid Search", "last_non_direct p1 Email", "last_non_direct p2 Paid Search",
		"last_touch p1 Email", "last_touch p2 Paid Search")
	// Only visits older than the lookback: no model picks a row of p1, whose picks go.
	replace([]string{"p1"}, member,
		visit("s1", "Email", day(40), tributary.TouchOrder{LastNonDirect: true, LastNonDirectStart: day(40)}),
		visit("s2", "Direct", day(31), tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(40), Last: true}))
	check("first_touch p2 Paid Search", "last_non_direct p2 Paid Search", "last_touch p2 Paid Search")
	// Replacing a payment's touches with none leaves it no pick.
	replace([]string{"p1"}, second...)
	replace([]string{"p2"})
	check("first_touch p1 Direct", "last_non_direct p1 Email", "last_touch p1 Email")
}

// PickRows runs q, which selects picks' model, payment_id and channel in order, and lists them as
// PaymentPicks compares them.
func PickRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	out, err := sqlmeta.Query(context.Background(), db, func(r sqlmeta.Scanner) (string, error) {
		var m, p, c string
		err := r.Scan(&m, &p, &c)
		return m + " " + p + " " + c, err
	}, q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
