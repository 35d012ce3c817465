package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// Signals runs the VisitorEventReader suite: one visitor's click and consent events, oldest first, and
// nothing of other visitors, other sites or outside the range (issue 22).
func Signals(t *testing.T, open func(t *testing.T) tributary.EventStore) {
	ctx := context.Background()
	s := open(t)
	r, ok := s.(tributary.VisitorEventReader)
	if !ok {
		t.Fatal("the event store does not read visitor signals")
	}
	ev := func(site, v, sess, name string, at time.Time, platform, click string, props map[string]string) tributary.Event {
		e := tributary.Event{SiteID: site, Timestamp: at, Name: name, Source: tributary.SourceBrowser, VisitorID: v, SessionID: sess,
			Hostname: "a.com", Path: "/p", ClickIDPlatform: platform, ClickID: click, Props: props}
		if platform == "google_ads" {
			e.ClickIDParam = "gbraid"
		}
		return e
	}
	must(t, s.InsertEvents(ctx, []tributary.Event{
		ev("s1", "v1", "x1", "pageview", Clock.Add(-2*time.Hour), "google_ads", "g1", nil),
		ev("s1", "v1", "x1", "pageview", Clock.Add(-2*time.Hour+time.Minute), "", "", nil),
		{SiteID: "s1", Timestamp: Clock.Add(-90 * time.Minute), Name: "pageview", Source: tributary.SourceBrowser, VisitorID: "v1", SessionID: "x1",
			Hostname: "a.com", Path: "/q", FBP: "fb.1.1795170600000.42"},
		ev("s1", "v1", "x2", "consent", Clock.Add(-time.Hour), "", "", map[string]string{"granted": "false"}),
		ev("s1", "v1", "x3", "pageview", Clock.Add(-10*24*time.Hour), "meta", "old", nil),
		ev("s1", "v2", "y1", "pageview", Clock.Add(-time.Hour), "meta", "f2", nil),
		ev("s2", "v1", "z1", "pageview", Clock.Add(-time.Hour), "tiktok", "t1", nil),
	}))
	got, err := r.SignalEvents(ctx, "s1", "v1", Clock.Add(-24*time.Hour), Clock)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("signals = %+v", got)
	}
	if g := got[1]; g.FBP != "fb.1.1795170600000.42" || g.ClickID != "" || g.Path != "/q" {
		t.Fatalf("fbp = %+v", g)
	}
	got = append(got[:1], got[2:]...)
	if g := got[0]; g.SessionID != "x1" || g.ClickIDPlatform != "google_ads" || g.ClickID != "g1" || g.ClickIDParam != "gbraid" || !g.Timestamp.Equal(Clock.Add(-2*time.Hour)) || g.Path != "/p" || g.Hostname != "a.com" {
		t.Fatalf("click = %+v", g)
	}
	if g := got[1]; g.Name != "consent" || g.Props["granted"] != "false" || g.SessionID != "x2" {
		t.Fatalf("consent = %+v", g)
	}
}

// IdentityKeys runs the identity-graph read: distinct rows naming a visitor and a key, of one site.
func IdentityKeys(t *testing.T, open func(t *testing.T) tributary.EventStore) {
	ctx := context.Background()
	s := open(t)
	r := s.(tributary.VisitorEventReader)
	must(t, s.InsertIdentities(ctx, []tributary.Identity{
		{SiteID: "s1", At: Clock, VisitorID: "v1", PersonID: "ann@example.com", Source: "browser"},
		{SiteID: "s1", At: Clock.Add(time.Second), VisitorID: "v1", PersonID: "ann@example.com", Source: "browser"},
		{SiteID: "s1", At: Clock, VisitorID: "v2", CustomerID: "cus_1", Email: "ann@example.com", PaymentID: "pi_1", LinkMethod: "email", Source: "stripe"},
		{SiteID: "s1", At: Clock, CustomerID: "cus_2", PaymentID: "pi_2", LinkMethod: "unattributed", Source: "stripe"},
		{SiteID: "s1", At: Clock, VisitorID: "v3", PaymentID: "pi_3", LinkMethod: "metadata", Source: "stripe"},
		{SiteID: "s2", At: Clock, VisitorID: "v9", PersonID: "x", Source: "browser"},
	}))
	got, err := r.IdentityKeys(ctx, "s1")
	must(t, err)
	want := [][4]string{{"v1", "ann@example.com", "", ""}, {"v2", "", "cus_1", "ann@example.com"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("identity keys = %v, want %v", got, want)
	}
}
