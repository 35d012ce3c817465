// Package storetest holds the conformance suites every store backend runs unchanged: the same calls,
// the same expected results. A backend's test calls MetaStore and EventStore with a constructor that
// returns a fresh, empty store for each subtest.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// Clock is the fixed time the suites use.
var Clock = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tributary.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// MetaStore runs the MetaStore conformance suite.
func MetaStore(t *testing.T, open func(t *testing.T) tributary.MetaStore) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, s tributary.MetaStore)
	}{
		{"Ping", func(t *testing.T, s tributary.MetaStore) { must(t, s.Ping(ctx)) }},
		{"OwnerOnce", func(t *testing.T, s tributary.MetaStore) {
			has, err := s.HasUsers(ctx)
			must(t, err)
			if has {
				t.Fatal("fresh store has users")
			}
			u := &tributary.User{ID: "u1", Email: "owner@example.com", PasswordHash: "h", CreatedAt: Clock}
			must(t, s.CreateOwner(ctx, u))
			wantCode(t, s.CreateOwner(ctx, &tributary.User{ID: "u2", Email: "x@example.com", PasswordHash: "h", CreatedAt: Clock}), tributary.ECONFLICT)
			got, err := s.UserByEmail(ctx, "owner@example.com")
			must(t, err)
			if got.ID != "u1" || got.PasswordHash != "h" || !got.CreatedAt.Equal(Clock) {
				t.Fatalf("user = %+v", got)
			}
			_, err = s.UserByEmail(ctx, "nobody@example.com")
			wantCode(t, err, tributary.ENOTFOUND)
			got, err = s.UserByID(ctx, "u1")
			must(t, err)
			if got.Email != "owner@example.com" {
				t.Fatalf("by id = %+v", got)
			}
		}},
		{"SetPassword", func(t *testing.T, s tributary.MetaStore) {
			must(t, s.CreateOwner(ctx, &tributary.User{ID: "u1", Email: "owner@example.com", PasswordHash: "old", CreatedAt: Clock}))
			for _, id := range []string{"keep", "other1", "other2"} {
				must(t, s.CreateSession(ctx, &tributary.Session{ID: id, UserID: "u1", CSRFToken: "c", CreatedAt: Clock, ExpiresAt: Clock.Add(time.Hour)}))
			}
			must(t, s.SetPassword(ctx, "u1", "new", "keep"))
			u, err := s.UserByID(ctx, "u1")
			must(t, err)
			if u.PasswordHash != "new" {
				t.Fatalf("hash = %q", u.PasswordHash)
			}
			if _, err := s.SessionByID(ctx, "keep"); err != nil {
				t.Fatalf("the kept session ended: %v", err)
			}
			for _, id := range []string{"other1", "other2"} {
				_, err := s.SessionByID(ctx, id)
				wantCode(t, err, tributary.ENOTFOUND)
			}
			must(t, s.SetPassword(ctx, "u1", "newer", ""))
			_, err = s.SessionByID(ctx, "keep")
			wantCode(t, err, tributary.ENOTFOUND)
			wantCode(t, s.SetPassword(ctx, "nobody", "h", ""), tributary.ENOTFOUND)
		}},
		{"Sessions", func(t *testing.T, s tributary.MetaStore) {
			ls := &tributary.Session{ID: "sh", UserID: "u1", CSRFToken: "c", CreatedAt: Clock, ExpiresAt: Clock.Add(time.Hour)}
			must(t, s.CreateSession(ctx, ls))
			old := &tributary.Session{ID: "old", UserID: "u1", CSRFToken: "c", CreatedAt: Clock, ExpiresAt: Clock.Add(-time.Minute)}
			must(t, s.CreateSession(ctx, old))
			got, err := s.SessionByID(ctx, "sh")
			must(t, err)
			if got.UserID != "u1" || got.CSRFToken != "c" || !got.ExpiresAt.Equal(ls.ExpiresAt) {
				t.Fatalf("session = %+v", got)
			}
			must(t, s.DeleteExpiredSessions(ctx, Clock))
			_, err = s.SessionByID(ctx, "old")
			wantCode(t, err, tributary.ENOTFOUND)
			must(t, s.DeleteSession(ctx, "sh"))
			_, err = s.SessionByID(ctx, "sh")
			wantCode(t, err, tributary.ENOTFOUND)
		}},
		{"Sites", func(t *testing.T, s tributary.MetaStore) {
			a := &tributary.Site{ID: "s1", Domain: "a.com", Name: "A", Currency: "USD", Timezone: "UTC", CreatedAt: Clock, UpdatedAt: Clock}
			b := &tributary.Site{ID: "s2", Domain: "b.com", Name: "B", Currency: "JPY", Timezone: "Asia/Tokyo", Locale: "ja-JP", CreatedAt: Clock.Add(time.Second), UpdatedAt: Clock}
			must(t, s.CreateSite(ctx, a))
			must(t, s.CreateSite(ctx, b))
			wantCode(t, s.CreateSite(ctx, a), tributary.ECONFLICT)
			list, err := s.Sites(ctx)
			must(t, err)
			if len(list) != 2 || list[0].ID != "s1" || list[1].Currency != "JPY" || list[1].Timezone != "Asia/Tokyo" {
				t.Fatalf("sites = %+v", list)
			}
			if list[1].Locale != "ja-JP" {
				t.Fatalf("locale = %q, want ja-JP", list[1].Locale)
			}
			b.Name, b.UpdatedAt, b.Locale = "B2", Clock.Add(time.Hour), "de-DE"
			must(t, s.UpdateSite(ctx, b))
			got, err := s.Site(ctx, "s2")
			must(t, err)
			if got.Name != "B2" || got.Locale != "de-DE" || !got.UpdatedAt.Equal(Clock.Add(time.Hour)) || !got.CreatedAt.Equal(Clock.Add(time.Second)) {
				t.Fatalf("updated = %+v", got)
			}
			wantCode(t, s.UpdateSite(ctx, &tributary.Site{ID: "nope"}), tributary.ENOTFOUND)
			_, err = s.Site(ctx, "nope")
			wantCode(t, err, tributary.ENOTFOUND)
			must(t, s.CreateAPIKey(ctx, &tributary.APIKey{ID: "k1", SiteID: "s1", Name: "k", Prefix: "trk_", Hash: "hash1", Scopes: []string{tributary.ScopeStatsRead}, RateLimit: 600, CreatedAt: Clock}))
			must(t, s.DeleteSite(ctx, "s1"))
			wantCode(t, s.DeleteSite(ctx, "s1"), tributary.ENOTFOUND)
			_, err = s.APIKeyByHash(ctx, "hash1")
			wantCode(t, err, tributary.ENOTFOUND)
			list, err = s.Sites(ctx)
			must(t, err)
			if len(list) != 1 {
				t.Fatalf("after delete: %d sites", len(list))
			}
		}},
		{"APIKeys", func(t *testing.T, s tributary.MetaStore) {
			must(t, s.CreateSite(ctx, &tributary.Site{ID: "s1", Domain: "a.com", Name: "A", Currency: "USD", Timezone: "UTC", CreatedAt: Clock, UpdatedAt: Clock}))
			k := &tributary.APIKey{ID: "k1", SiteID: "s1", Name: "backend", Prefix: "trk_abcd", Hash: "h1",
				Scopes: []string{tributary.ScopeEventsWrite, tributary.ScopeStatsRead}, RateLimit: 600, CreatedAt: Clock}
			must(t, s.CreateAPIKey(ctx, k))
			wantCode(t, s.CreateAPIKey(ctx, &tributary.APIKey{ID: "k2", SiteID: "s1", Name: "dup", Hash: "h1", Scopes: []string{tributary.ScopeStatsRead}, CreatedAt: Clock}), tributary.ECONFLICT)
			got, err := s.APIKeyByHash(ctx, "h1")
			must(t, err)
			if got.ID != "k1" || len(got.Scopes) != 2 || !got.HasScope(tributary.ScopeEventsWrite) || got.LastUsedAt != nil || got.RevokedAt != nil || got.RateLimit != 600 {
				t.Fatalf("key = %+v", got)
			}
			must(t, s.TouchAPIKey(ctx, "k1", Clock.Add(time.Minute)))
			must(t, s.RevokeAPIKey(ctx, "s1", "k1", Clock.Add(2*time.Minute)))
			must(t, s.RevokeAPIKey(ctx, "s1", "k1", Clock.Add(3*time.Minute)))
			wantCode(t, s.RevokeAPIKey(ctx, "other", "k1", Clock), tributary.ENOTFOUND)
			keys, err := s.APIKeys(ctx, "s1")
			must(t, err)
			if len(keys) != 1 || keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(Clock.Add(time.Minute)) ||
				keys[0].RevokedAt == nil || !keys[0].RevokedAt.Equal(Clock.Add(2*time.Minute)) {
				t.Fatalf("keys = %+v", keys)
			}
		}},
		{"Settings", func(t *testing.T, s tributary.MetaStore) {
			_, err := s.Setting(ctx, "k")
			wantCode(t, err, tributary.ENOTFOUND)
			v, err := s.SetSettingIfAbsent(ctx, "k", "first")
			must(t, err)
			if v != "first" {
				t.Fatalf("first set = %q", v)
			}
			v, err = s.SetSettingIfAbsent(ctx, "k", "second")
			must(t, err)
			if v != "first" {
				t.Fatalf("second set returned %q, want the first value kept", v)
			}
			// PutSetting replaces, and an empty value removes; a site's settings go with the site.
			must(t, s.PutSetting(ctx, "k", "third"))
			if v, err := s.Setting(ctx, "k"); err != nil || v != "third" {
				t.Fatalf("after put: %q %v", v, err)
			}
			must(t, s.PutSetting(ctx, "k", ""))
			_, err = s.Setting(ctx, "k")
			wantCode(t, err, tributary.ENOTFOUND)
			must(t, s.CreateSite(ctx, &tributary.Site{ID: "s_1", Domain: "a.example", Name: "a", Currency: "USD", Timezone: "UTC", Locale: "en-US"}))
			must(t, s.CreateSite(ctx, &tributary.Site{ID: "sx1", Domain: "b.example", Name: "b", Currency: "USD", Timezone: "UTC", Locale: "en-US"}))
			must(t, s.PutSetting(ctx, tributary.SiteSettingKey("s_1", "referrer_exclude"), "a.example"))
			must(t, s.PutSetting(ctx, tributary.SiteSettingKey("sx1", "referrer_exclude"), "b.example"))
			must(t, s.DeleteSite(ctx, "s_1"))
			_, err = s.Setting(ctx, tributary.SiteSettingKey("s_1", "referrer_exclude"))
			wantCode(t, err, tributary.ENOTFOUND)
			if v, err := s.Setting(ctx, tributary.SiteSettingKey("sx1", "referrer_exclude")); err != nil || v != "b.example" {
				t.Fatalf("another site's setting (the _ of s_1 is no wildcard): %q %v", v, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// EventStore runs the EventStore conformance suite.
func EventStore(t *testing.T, open func(t *testing.T) tributary.EventStore) {
	ctx := context.Background()
	t.Run("VisitorVisits", func(t *testing.T) {
		s := open(t)
		ev := func(min int, site, visitor, session, name, path, channel, campaign string) tributary.Event {
			return tributary.Event{SiteID: site, Timestamp: Clock.Add(time.Duration(min) * time.Minute), Name: name, Source: tributary.SourceBrowser,
				VisitorID: visitor, SessionID: session, Hostname: "a.com", Path: path, Channel: channel, ReferrerSource: channel + " src",
				UTMCampaign: campaign, Country: "FR", Device: "mobile"}
		}
		must(t, s.InsertEvents(ctx, []tributary.Event{
			ev(0, "s1", "v1", "a", "signup", "/x", "Email", "spring"), // a custom event first: the landing page is the first pageview
			ev(1, "s1", "v1", "a", tributary.PageviewName, "/landing", "Direct", ""),
			ev(2, "s1", "v1", "a", tributary.PageviewName, "/next", "Direct", ""),
			ev(60, "s1", "v2", "b", tributary.PageviewName, "/b", "Organic Search", ""),
			ev(120, "s1", "v3", "c", tributary.PageviewName, "/c", "Referral", ""),
			ev(5, "s2", "v1", "z", tributary.PageviewName, "/other-site", "Direct", ""),
			ev(-600, "s1", "v1", "old", tributary.PageviewName, "/old", "Direct", ""),
		}))
		got, err := s.VisitorVisits(ctx, "s1", []string{"v1", "v2"}, Clock, Clock.Add(2*time.Hour))
		must(t, err)
		if len(got) != 2 {
			t.Fatalf("sessions = %+v, want a and b", got)
		}
		a, b := got[0], got[1]
		if a.SessionID != "a" || a.VisitorID != "v1" || !a.Start.Equal(Clock) || !a.End.Equal(Clock.Add(2*time.Minute)) || a.Pageviews != 2 ||
			a.Channel != "Email" || a.Source != "Email src" || a.UTMCampaign != "spring" || a.LandingPage != "/landing" || a.Country != "FR" || a.Device != "mobile" {
			t.Errorf("session a = %+v", a)
		}
		if b.SessionID != "b" || b.Channel != "Organic Search" || b.LandingPage != "/b" {
			t.Errorf("session b = %+v", b)
		}
		if none, err := s.VisitorVisits(ctx, "s1", nil, Clock, Clock.Add(time.Hour)); err != nil || len(none) != 0 {
			t.Errorf("no visitors: %v %v", none, err)
		}
	})
	t.Run("InsertCountDelete", func(t *testing.T) {
		s := open(t)
		must(t, s.Ping(ctx))
		var evs []tributary.Event
		for i := 0; i < 1000; i++ {
			site := "s1"
			if i%4 == 0 {
				site = "s2"
			}
			evs = append(evs, tributary.Event{SiteID: site, Timestamp: Clock.Add(time.Duration(i) * time.Minute), Name: tributary.PageviewName,
				Source: tributary.SourceBrowser, VisitorID: "v", SessionID: "s", Hostname: "a.com", Path: "/", Channel: "Direct",
				Props: map[string]string{"k": "v<\"'>"}})
		}
		must(t, s.InsertEvents(ctx, evs[:500]))
		must(t, s.InsertEvents(ctx, evs[500:]))
		must(t, s.InsertEvents(ctx, nil))
		n, err := s.CountEvents(ctx, "s1", Clock, Clock.Add(1000*time.Minute))
		must(t, err)
		if n != 750 {
			t.Fatalf("s1 count = %d, want 750", n)
		}
		n, err = s.CountEvents(ctx, "s2", Clock, Clock.Add(4*time.Minute))
		must(t, err)
		if n != 1 {
			t.Fatalf("s2 window count = %d, want 1 (to is exclusive)", n)
		}
		must(t, s.DeleteSiteData(ctx, "s1"))
		n, err = s.CountEvents(ctx, "s1", Clock, Clock.Add(1000*time.Minute))
		must(t, err)
		if n != 0 {
			t.Fatalf("after delete count = %d", n)
		}
	})
	t.Run("LedgerIdempotent", func(t *testing.T) {
		s := open(t)
		e := tributary.LedgerEntry{ID: "pay:ch_1", SiteID: "s1", Livemode: true, Kind: tributary.EntryPayment, PaymentID: "pi_1",
			OccurredAt: Clock, Amount: 4999, Currency: "USD", ReportingAmount: 4999, ReportingCurrency: "USD", Rate: "1", RateDate: "2026-11-20",
			Converted: true, CustomerID: "cus_1", Email: "a@b.co", Source: "stripe"}
		r := e
		r.ID, r.Kind, r.Amount, r.ReportingAmount, r.OccurredAt = "refund:re_1", tributary.EntryRefund, -500, -500, Clock.Add(time.Hour)
		n, err := s.InsertLedger(ctx, []tributary.LedgerEntry{e, r})
		must(t, err)
		if n != 2 {
			t.Fatalf("first insert = %d new, want 2", n)
		}
		changed := e
		changed.Amount = 1 // a re-derived entry with the same id never rewrites the stored one
		n, err = s.InsertLedger(ctx, []tributary.LedgerEntry{changed, r})
		must(t, err)
		if n != 0 {
			t.Fatalf("second insert = %d new, want 0", n)
		}
		got, err := s.Ledger(ctx, "s1")
		must(t, err)
		if len(got) != 2 || got[0].Amount != 4999 || got[1].Amount != -500 || !got[0].OccurredAt.Equal(Clock) || !got[0].Converted || got[0].Email != "a@b.co" {
			t.Fatalf("ledger = %+v", got)
		}
		// Newest first, limited; another site's entries never show.
		other := e
		other.ID, other.SiteID = "pay:other", "s2"
		_, err = s.InsertLedger(ctx, []tributary.LedgerEntry{other})
		must(t, err)
		recent, err := s.RecentLedger(ctx, "s1", 1)
		must(t, err)
		if len(recent) != 1 || recent[0].ID != "refund:re_1" {
			t.Fatalf("recent ledger = %+v", recent)
		}
		recent, err = s.RecentLedger(ctx, "s1", 10)
		must(t, err)
		if len(recent) != 2 || recent[1].ID != "pay:ch_1" || recent[1].Amount != 4999 {
			t.Fatalf("recent ledger = %+v", recent)
		}
		must(t, s.InsertIdentities(ctx, []tributary.Identity{{SiteID: "s1", At: Clock, VisitorID: "v1", PersonID: "a@b.co", Email: "a@b.co", Source: "browser"}}))
		mv := tributary.MRRMovement{ID: "mrr:sub_1:new", SiteID: "s1", Livemode: true, SubscriptionID: "sub_1", At: Clock, Kind: tributary.MRRNew,
			Delta: 2900, Currency: "USD", ReportingDelta: 2900, ReportingCurrency: "USD", Converted: true, Source: "stripe"}
		n, err = s.InsertMRRMovements(ctx, []tributary.MRRMovement{mv, mv})
		must(t, err)
		if n != 1 {
			t.Fatalf("mrr insert = %d new, want 1", n)
		}
		mvs, err := s.MRRMovements(ctx, "s1")
		must(t, err)
		if len(mvs) != 1 || mvs[0].Delta != 2900 || !mvs[0].At.Equal(Clock) {
			t.Fatalf("movements = %+v", mvs)
		}
		must(t, s.DeleteSiteData(ctx, "s1"))
		got, err = s.Ledger(ctx, "s1")
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("ledger after delete = %d entries", len(got))
		}
	})
}
