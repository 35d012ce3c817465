package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// Links runs the identity-link and exchange-rate suite; it needs a store that is both a MetaStore and an
// EventStore view of one deployment (meta for rates, events for identities).
func Links(t *testing.T, open func(t *testing.T) (tributary.MetaStore, tributary.EventStore)) {
	ctx := context.Background()
	t.Run("Rates", func(t *testing.T) {
		m, _ := open(t)
		rates := []tributary.ExchangeRate{{Date: "2026-11-20", Currency: "USD", PerEUR: "1.0543"}, {Date: "2026-11-20", Currency: "JPY", PerEUR: "162.45"}}
		n, err := m.PutExchangeRates(ctx, rates)
		must(t, err)
		if n != 2 {
			t.Fatalf("put = %d", n)
		}
		_, err = m.PutExchangeRates(ctx, []tributary.ExchangeRate{{Date: "2026-11-20", Currency: "USD", PerEUR: "1.06"}})
		must(t, err)
		got, err := m.ExchangeRates(ctx)
		must(t, err)
		if len(got) != 2 || got[0].Currency != "JPY" || got[1].PerEUR != "1.06" {
			t.Fatalf("rates = %+v", got)
		}
	})
	t.Run("PaymentLinks", func(t *testing.T) {
		_, e := open(t)
		ids := []tributary.Identity{
			{SiteID: "s1", At: Clock.Add(-48 * time.Hour), VisitorID: "v1", SessionID: "s1a", PersonID: "ann@example.com", Email: "ann@example.com", Source: "browser"},
			{SiteID: "s1", At: Clock.Add(-24 * time.Hour), VisitorID: "v2", SessionID: "s2a", CustomerID: "cus_2", PaymentID: "pi_old", LinkMethod: "metadata", Source: "stripe"},
			{SiteID: "s1", At: Clock, PaymentID: "pi_new", CustomerID: "cus_3", Email: "bob@example.com", LinkMethod: "unattributed", Channel: "Direct", Source: "stripe"},
		}
		must(t, e.InsertIdentities(ctx, ids))
		got, err := e.VisitorByEmail(ctx, "s1", "ann@example.com", Clock)
		must(t, err)
		if got.VisitorID != "v1" || got.SessionID != "s1a" {
			t.Fatalf("by email = %+v", got)
		}
		_, err = e.VisitorByEmail(ctx, "s1", "ann@example.com", Clock.Add(-72*time.Hour))
		wantCode(t, err, tributary.ENOTFOUND)
		got, err = e.VisitorByCustomer(ctx, "s1", "cus_2", Clock)
		must(t, err)
		if got.VisitorID != "v2" {
			t.Fatalf("by customer = %+v", got)
		}
		un, err := e.UnattributedPayments(ctx, "s1", 10)
		must(t, err)
		if len(un) != 1 || un[0].PaymentID != "pi_new" {
			t.Fatalf("unattributed = %+v", un)
		}
		// The batch forms answer as the single ones do.
		byC, byE, err := e.NewestVisitorFacts(ctx, "s1", []string{"cus_2", "cus_3", "cus_none"}, []string{"ann@example.com", "bob@example.com"})
		must(t, err)
		if len(byC) != 1 || byC["cus_2"] == nil || byC["cus_2"].VisitorID != "v2" || len(byE) != 1 || byE["ann@example.com"].VisitorID != "v1" {
			t.Fatalf("newest facts: %+v %+v", byC, byE)
		}
		if of, err := e.UnattributedPaymentsOf(ctx, "s1", []string{"cus_3"}, 10); err != nil || len(of) != 1 || of[0].PaymentID != "pi_new" {
			t.Fatalf("unattributed of cus_3 = %+v %v", of, err)
		}
		if of, err := e.UnattributedPaymentsOf(ctx, "s1", []string{"cus_2"}, 10); err != nil || len(of) != 0 {
			t.Fatalf("unattributed of cus_2 = %+v %v", of, err)
		}
		// To review: every payment whose newest link is unattributed, with or without a key to match
		// later, newest first.
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: Clock.Add(-time.Hour), PaymentID: "pi_bare", LinkMethod: "unattributed", Source: "api"},
			{SiteID: "s2", At: Clock, PaymentID: "pi_elsewhere", LinkMethod: "unattributed", Source: "api"}}))
		review, err := e.PaymentsToReview(ctx, "s1", 10)
		must(t, err)
		if len(review) != 2 || review[0].PaymentID != "pi_new" || review[1].PaymentID != "pi_bare" {
			t.Fatalf("to review = %+v", review)
		}
		if review, err = e.PaymentsToReview(ctx, "s1", 1); err != nil || len(review) != 1 {
			t.Fatalf("to review, limit 1 = %+v (%v)", review, err)
		}
		// A later link supersedes the unattributed one.
		must(t, e.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: Clock.Add(time.Minute), PaymentID: "pi_new", VisitorID: "v3", LinkMethod: "email", Source: "stripe"}}))
		l, err := e.PaymentLink(ctx, "s1", "pi_new")
		must(t, err)
		if l.VisitorID != "v3" || l.LinkMethod != "email" {
			t.Fatalf("newest link = %+v", l)
		}
		links, err := e.PaymentLinks(ctx, "s1", []string{"pi_new", "pi_old", "nope", "pi_elsewhere"})
		must(t, err)
		if len(links) != 2 || links["pi_new"].VisitorID != "v3" || links["pi_old"].VisitorID != "v2" || links["pi_old"].LinkMethod != "metadata" {
			t.Fatalf("links = %+v", links)
		}
		if links, err = e.PaymentLinks(ctx, "s1", nil); err != nil || len(links) != 0 {
			t.Fatalf("no payments: %+v (%v)", links, err)
		}
		review, err = e.PaymentsToReview(ctx, "s1", 10)
		must(t, err)
		if len(review) != 1 || review[0].PaymentID != "pi_bare" {
			t.Fatalf("to review after the link = %+v", review)
		}
		un, err = e.UnattributedPayments(ctx, "s1", 10)
		must(t, err)
		if len(un) != 0 {
			t.Fatalf("still unattributed: %+v", un)
		}
		_, err = e.PaymentLink(ctx, "s1", "nope")
		wantCode(t, err, tributary.ENOTFOUND)
	})
}
