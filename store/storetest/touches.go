package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/touches"
)

// Touches runs the payment touches suite: the rows attribution reads are written when a payment is
// linked, rewritten when a write changes them (a late visit, two people joined, a relink) and kept across
// a restart, and a store stopped between a write and its rewrite rebuilds them when it opens again.
// open returns a fresh store and a function that closes it and opens the same data again.
func Touches(t *testing.T, open func(t *testing.T) (tributary.EventStore, func() tributary.EventStore)) {
	ctx := context.Background()
	paid := Clock
	visit := func(visitor, session string, at time.Time, channel string, paths ...string) []tributary.Event {
		var out []tributary.Event
		for i, p := range paths {
			out = append(out, tributary.Event{SiteID: "s1", Timestamp: at.Add(time.Duration(i) * time.Minute), Name: tributary.PageviewName,
				Source: tributary.SourceBrowser, VisitorID: visitor, SessionID: session, Hostname: "shop.example", Path: p, Channel: channel,
				ReferrerSource: map[string]string{"Email": "newsletter", "Organic Search": "Google"}[channel], Country: "DE", Device: "desktop",
				Browser: "Firefox", OS: "Linux"})
		}
		return out
	}
	pay := func(t *testing.T, e tributary.EventStore, payment string, at time.Time) {
		t.Helper()
		_, err := e.InsertLedger(ctx, []tributary.LedgerEntry{{ID: "pay:" + payment, SiteID: "s1", Livemode: true, Kind: tributary.EntryPayment,
			PaymentID: payment, OccurredAt: at, Amount: 4900, Currency: "USD", ReportingAmount: 4900, ReportingCurrency: "USD", Rate: "1",
			Converted: true, Source: "stripe"}})
		must(t, err)
	}
	link := func(t *testing.T, e tributary.EventStore, payment, visitor, method string, at time.Time) {
		t.Helper()
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: at, VisitorID: visitor, PaymentID: payment, LinkMethod: method, Source: "stripe"}}))
	}
	events := func(t *testing.T, e tributary.EventStore, evs ...[]tributary.Event) {
		t.Helper()
		var all []tributary.Event
		for _, v := range evs {
			all = append(all, v...)
		}
		must(t, e.InsertEvents(ctx, all))
	}
	// rows renders a payment's touches: "person visitor session start channel entry→exit", sorted.
	rows := func(t *testing.T, e tributary.EventStore, payment string) []string {
		t.Helper()
		ts, err := e.PaymentTouches(ctx, "s1", []string{payment})
		must(t, err)
		var out []string
		for _, r := range ts {
			if r.PaymentID != payment {
				t.Fatalf("asked for %s, got a row of %s", payment, r.PaymentID)
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %s %s→%s", r.Person, r.VisitorID, r.SessionID, r.Start.UTC().Format("01-02T15:04"),
				r.Values[0], r.Values[14], r.Values[15]))
		}
		slices.Sort(out)
		return out
	}
	want := func(t *testing.T, e tributary.EventStore, payment string, w ...string) {
		t.Helper()
		slices.Sort(w)
		if got := rows(t, e, payment); !slices.Equal(got, w) {
			t.Fatalf("touches of %s:\n got %s\nwant %s", payment, strings.Join(got, "\n     "), strings.Join(w, "\n     "))
		}
	}
	// base: v1 visits three days and an hour before paying, and once after; v2 pays for another payment.
	base := func(t *testing.T, e tributary.EventStore) {
		events(t, e, visit("v1", "a", paid.Add(-72*time.Hour), "Email", "/blog", "/pricing"), visit("v1", "b", paid.Add(-time.Hour), "Organic Search", "/", "/checkout"),
			visit("v1", "c", paid.Add(time.Hour), "Direct", "/account"), visit("v2", "d", paid.Add(-2*time.Hour), "Direct", "/"))
		pay(t, e, "p1", paid)
		link(t, e, "p1", "v1", tributary.LinkMetadata, paid)
		pay(t, e, "p2", paid)
		link(t, e, "p2", "v2", tributary.LinkMetadata, paid)
	}
	p1 := []string{"v1 v1  11-20T12:00  →", "v1 v1 a 11-17T12:00 Email /blog→/pricing", "v1 v1 b 11-20T11:00 Organic Search /→/checkout"}
	p2 := []string{"v2 v2  11-20T12:00  →", "v2 v2 d 11-20T10:00 Direct /→/"}

	t.Run("WrittenWhenLinked", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		want(t, e, "p1", p1...)
		want(t, e, "p2", p2...)
	})
	t.Run("Order", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: paid, PaymentID: "p4", LinkMethod: tributary.LinkUnattributed,
			Channel: "Paid Social", ReferrerSource: "Facebook", UTMCampaign: "spring", Source: "stripe"}}))
		pay(t, e, "p4", paid)
		ts, err := e.PaymentTouches(ctx, "s1", nil)
		must(t, err)
		var got []string
		for _, r := range ts {
			clock := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.UTC().Format("01-02T15:04")
			}
			got = append(got, fmt.Sprintf("%s/%s paid %s prev %s lastND %s last=%t lastND=%t %s %s %s", r.PaymentID, r.SessionID, clock(r.Paid), clock(r.Prev),
				clock(r.LastNonDirectStart), r.Last, r.LastNonDirect, r.Values[0], r.Values[1], r.Values[5]))
		}
		slices.Sort(got)
		w := []string{
			"p1/ paid 11-20T12:00 prev - lastND - last=false lastND=false   ",
			"p1/a paid 11-20T12:00 prev - lastND 11-20T11:00 last=false lastND=false Email newsletter ",
			"p1/b paid 11-20T12:00 prev 11-17T12:00 lastND 11-20T11:00 last=true lastND=true Organic Search Google ",
			"p2/ paid 11-20T12:00 prev - lastND - last=false lastND=false   ",
			"p2/d paid 11-20T12:00 prev - lastND - last=true lastND=false Direct  ",
			"p4/ paid 11-20T12:00 prev - lastND - last=false lastND=false Paid Social Facebook spring",
		}
		if !slices.Equal(got, w) {
			t.Fatalf("order of the touches:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(w, "\n     "))
		}
	})
	t.Run("LinkBeforeEntry", func(t *testing.T) {
		e, _ := open(t)
		events(t, e, visit("v1", "a", paid.Add(-72*time.Hour), "Email", "/blog"), visit("v1", "b", paid.Add(-time.Hour), "Direct", "/"))
		// The link arrives first, dated after both visits; the payment entry, dated between them, moves the
		// payment time and with it which visits count.
		link(t, e, "p1", "v1", tributary.LinkMetadata, paid)
		want(t, e, "p1", "v1 v1  11-20T12:00  →", "v1 v1 a 11-17T12:00 Email /blog→/blog", "v1 v1 b 11-20T11:00 Direct /→/")
		pay(t, e, "p1", paid.Add(-2*time.Hour))
		want(t, e, "p1", "v1 v1  11-20T10:00  →", "v1 v1 a 11-17T12:00 Email /blog→/blog")
	})
	t.Run("LateVisit", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		// An event dated before the payment arrives late: a visit of its own, and a later page of visit b.
		events(t, e, visit("v1", "e", paid.Add(-30*time.Hour), "Email", "/late"), visit("v1", "b", paid.Add(-time.Hour+10*time.Minute), "Direct", "/pricing"))
		want(t, e, "p1", "v1 v1  11-20T12:00  →", "v1 v1 a 11-17T12:00 Email /blog→/pricing", "v1 v1 b 11-20T11:00 Organic Search /→/pricing",
			"v1 v1 e 11-19T06:00 Email /late→/late")
		want(t, e, "p2", p2...)
		// A visit more than a year before the payment is not a touch.
		events(t, e, visit("v1", "old", paid.Add(-400*24*time.Hour), "Email", "/old"))
		want(t, e, "p1", "v1 v1  11-20T12:00  →", "v1 v1 a 11-17T12:00 Email /blog→/pricing", "v1 v1 b 11-20T11:00 Organic Search /→/pricing",
			"v1 v1 e 11-19T06:00 Email /late→/late")
	})
	t.Run("PeopleJoined", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		// v0, another device, identifies with the same e-mail as v1 (who identified first): v1's payment
		// now counts v0's visits, under the person v0 (the smaller id); p2 is untouched.
		events(t, e, visit("v0", "z", paid.Add(-50*time.Hour), "Email", "/phone"))
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: paid.Add(-80 * time.Hour), VisitorID: "v1", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"}}))
		want(t, e, "p1", p1...)
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: paid.Add(-49 * time.Hour), VisitorID: "v0", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"}}))
		want(t, e, "p1", "v0 v0  11-20T12:00  →", "v0 v0 z 11-18T10:00 Email /phone→/phone", "v0 v1  11-20T12:00  →",
			"v0 v1 a 11-17T12:00 Email /blog→/pricing", "v0 v1 b 11-20T11:00 Organic Search /→/checkout")
		want(t, e, "p2", p2...)
		// A later visit of the joined device before the payment is a touch too.
		events(t, e, visit("v0", "y", paid.Add(-10*time.Hour), "Direct", "/app"))
		got := rows(t, e, "p1")
		if !slices.Contains(got, "v0 v0 y 11-20T02:00 Direct /app→/app") {
			t.Fatalf("the joined device's late visit is missing: %v", got)
		}
	})
	t.Run("Relinked", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		events(t, e, visit("v3", "f", paid.Add(-5*time.Hour), "Email", "/x"))
		// p3 is first unattributed (no rows), then linked by e-mail to v3, then to v1 by a stronger link.
		pay(t, e, "p3", paid)
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: paid, PaymentID: "p3", LinkMethod: tributary.LinkUnattributed, Channel: "Direct", Source: "stripe"}}))
		want(t, e, "p3", "   11-20T12:00 Direct →") // its own row: the visit its link describes
		link(t, e, "p3", "v3", tributary.LinkEmail, paid.Add(time.Minute))
		want(t, e, "p3", "v3 v3  11-20T12:00  →", "v3 v3 f 11-20T07:00 Email /x→/x")
		link(t, e, "p3", "v1", tributary.LinkMetadata, paid.Add(2*time.Minute))
		want(t, e, "p3", "v1 v1  11-20T12:00  →", "v1 v1 a 11-17T12:00 Email /blog→/pricing", "v1 v1 b 11-20T11:00 Organic Search /→/checkout")
		want(t, e, "p1", p1...)
	})
	t.Run("VisitBelongsToItsFirstVisitor", func(t *testing.T) {
		e, _ := open(t)
		// Session m starts with v9's event; an event of v1 in it does not make it v1's visit.
		shared := append(visit("v9", "m", paid.Add(-3*time.Hour), "Email", "/shared"), visit("v1", "m", paid.Add(-3*time.Hour+time.Minute), "Direct", "/later")...)
		events(t, e, shared)
		base(t, e)
		want(t, e, "p1", p1...)
	})
	t.Run("SurvivesRestart", func(t *testing.T) {
		e, reopen := open(t)
		base(t, e)
		e = reopen()
		want(t, e, "p1", p1...)
		want(t, e, "p2", p2...)
		// A write the process did not get to rewrite (it stopped in between) is rebuilt at the next start:
		// here the rows are dropped and the site marked stale by hand, as a crash would leave them.
		ts, ok := e.(touches.Store)
		if !ok {
			t.Fatalf("%T does not keep payment touches", e)
		}
		must(t, ts.MarkTouches(ctx, "s1", true))
		must(t, ts.ReplaceTouches(ctx, "s1", []string{"p1", "p2"}, nil))
		want(t, e, "p1")
		e = reopen()
		want(t, e, "p1", p1...)
		want(t, e, "p2", p2...)
		stale, err := e.(touches.Store).StaleTouches(ctx)
		must(t, err)
		if len(stale) != 0 {
			t.Fatalf("still stale after the rebuild: %v", stale)
		}
	})
	t.Run("DeletedWithTheSite", func(t *testing.T) {
		e, _ := open(t)
		base(t, e)
		must(t, e.DeleteSiteData(ctx, "s1"))
		all, err := e.PaymentTouches(ctx, "s1", nil)
		must(t, err)
		if len(all) != 0 {
			t.Fatalf("%d rows left", len(all))
		}
	})
}
