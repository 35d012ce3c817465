package touches

import (
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
)

// TestPick holds Pick to tributary.TouchOrder's conditions at the default lookback of 30 days, on whole
// seconds as the ClickHouse store keeps times.
func TestPick(t *testing.T) {
	paid := time.Date(2026, 5, 1, 12, 0, 0, 700_000_000, time.UTC)
	day := func(n int) time.Time { return paid.AddDate(0, 0, -n) }
	visit := func(session, channel string, start time.Time, o tributary.TouchOrder) tributary.PaymentTouch {
		v := tributary.Visit{SessionID: session, VisitorID: "v1", Start: start}
		v.Values[0] = channel
		o.Paid = paid
		return tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: v, TouchOrder: o}
	}
	member := tributary.PaymentTouch{PaymentID: "p1", Person: "v1", Visit: tributary.Visit{VisitorID: "v1", Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	own := tributary.PaymentTouch{PaymentID: "p2", Visit: tributary.Visit{Start: paid}, TouchOrder: tributary.TouchOrder{Paid: paid}}
	// The visit 30 days before the payment starts 0.7 s after the lookback's start as the Go times have
	// it, and at its start as the store keeps them (both on whole seconds): inside either way.
	edge := day(30).Truncate(time.Second)
	cases := []struct {
		name string
		rows []tributary.PaymentTouch
		want map[attribution.Model]string // the picked row's session, "" for none, "own" for the payment's own row
	}{
		{"an unattributed payment's own row under every model", []tributary.PaymentTouch{own},
			map[attribution.Model]string{attribution.FirstTouch: "own", attribution.LastTouch: "own", attribution.LastNonDirect: "own"}},
		{"a member row is never picked", []tributary.PaymentTouch{member}, map[attribution.Model]string{}},
		{"an old non-direct visit, then a direct one at the lookback's edge", []tributary.PaymentTouch{member,
			visit("s1", "Email", day(40), tributary.TouchOrder{LastNonDirect: true}),
			visit("s2", "Direct", edge, tributary.TouchOrder{Prev: day(40), LastNonDirectStart: day(40), Last: true})},
			map[attribution.Model]string{attribution.FirstTouch: "s2", attribution.LastTouch: "s2", attribution.LastNonDirect: "s2"}},
		{"a direct visit, then a non-direct one", []tributary.PaymentTouch{member,
			visit("s1", "Direct", day(20), tributary.TouchOrder{LastNonDirectStart: day(5)}),
			visit("s2", "Email", day(5), tributary.TouchOrder{Prev: day(20), LastNonDirectStart: day(5), LastNonDirect: true}),
			visit("s3", "Direct", day(1), tributary.TouchOrder{Prev: day(5), LastNonDirectStart: day(5), Last: true})},
			map[attribution.Model]string{attribution.FirstTouch: "s1", attribution.LastTouch: "s3", attribution.LastNonDirect: "s2"}},
		{"every visit older than the lookback", []tributary.PaymentTouch{member,
			visit("s1", "Email", day(31), tributary.TouchOrder{LastNonDirect: true, LastNonDirectStart: day(31), Last: true})},
			map[attribution.Model]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range PickModels {
				got := ""
				if i, ok := Pick(c.rows, m); ok {
					got = c.rows[i].SessionID
					if got == "" {
						got = "own"
					}
				}
				if got != c.want[m] {
					t.Errorf("%s: picked %q, want %q", m, got, c.want[m])
				}
			}
		})
	}
}
