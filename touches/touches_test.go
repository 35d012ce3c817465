package touches

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// fake is an in-memory Store that records which payments each rewrite replaced.
type fake struct {
	links    map[string]*tributary.Identity
	keys     [][4]string
	times    map[string]time.Time
	visits   []tributary.Visit
	rows     map[string][]tributary.PaymentTouch
	stale    map[string]bool
	replaced [][]string
}

func newFake() *fake {
	return &fake{links: map[string]*tributary.Identity{}, times: map[string]time.Time{}, rows: map[string][]tributary.PaymentTouch{}, stale: map[string]bool{}}
}

func (f *fake) PaymentLinks(_ context.Context, _ string, ps []string) (map[string]*tributary.Identity, error) {
	out := map[string]*tributary.Identity{}
	for _, p := range ps {
		if l := f.links[p]; l != nil {
			out[p] = l
		}
	}
	return out, nil
}
func (f *fake) IdentityKeys(context.Context, string) ([][4]string, error) { return f.keys, nil }
func (f *fake) PaymentTimes(_ context.Context, _ string, ps []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, p := range ps {
		if t, ok := f.times[p]; ok {
			out[p] = t
		}
	}
	return out, nil
}
func (f *fake) VisitsOf(_ context.Context, _ string, vs []string, from, to time.Time) ([]tributary.Visit, error) {
	var out []tributary.Visit
	for _, v := range f.visits {
		if slices.Contains(vs, v.VisitorID) && !v.Start.Before(from) && !v.Start.After(to) {
			out = append(out, v)
		}
	}
	return out, nil
}
func (f *fake) TouchedPayments(_ context.Context, _ string, vs []string, paidFrom time.Time) ([]string, error) {
	var out []string
	for p, rows := range f.rows {
		for _, r := range rows {
			if r.SessionID == "" && slices.Contains(vs, r.VisitorID) && !r.Start.Before(paidFrom) {
				out = append(out, p)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
func (f *fake) TouchVisitors(context.Context, string) ([]string, error) {
	var out []string
	for _, rows := range f.rows {
		for _, r := range rows {
			if r.SessionID == "" {
				out = append(out, r.VisitorID)
			}
		}
	}
	return out, nil
}
func (f *fake) LinkedPayments(context.Context, string) ([]string, error) {
	var out []string
	for p := range f.links {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}
func (f *fake) ReplaceTouches(_ context.Context, _ string, ps []string, rows []tributary.PaymentTouch) error {
	f.replaced = append(f.replaced, slices.Clone(ps))
	for _, p := range ps {
		delete(f.rows, p)
	}
	for _, r := range rows {
		f.rows[r.PaymentID] = append(f.rows[r.PaymentID], r)
	}
	return nil
}
func (f *fake) MarkTouches(_ context.Context, s string, stale bool) error {
	f.stale[s] = stale
	return nil
}
func (f *fake) StaleTouches(context.Context) ([]string, error) {
	var out []string
	for s, st := range f.stale {
		if st {
			out = append(out, s)
		}
	}
	return out, nil
}

// TestRewritesExactlyTheAffectedPayments: each kind of write rewrites the payments it can change and no
// other.
func TestRewritesExactlyTheAffectedPayments(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f := newFake()
	m := New(f, nil, Shared)
	m.now = func() time.Time { return t0 } // the graph is never reloaded during the test
	// Three paying visitors: p1 by v1 at t0, p2 by v2 at t0, p3 by v1 a week earlier.
	for _, p := range []struct {
		id, visitor string
		at          time.Time
	}{{"p1", "v1", t0}, {"p2", "v2", t0}, {"p3", "v1", t0.Add(-7 * 24 * time.Hour)}} {
		f.times[p.id] = p.at
		f.links[p.id] = &tributary.Identity{SiteID: "s", PaymentID: p.id, VisitorID: p.visitor, At: p.at}
	}
	f.visits = []tributary.Visit{{SessionID: "a", VisitorID: "v1", Start: t0.Add(-time.Hour)}, {SessionID: "b", VisitorID: "v2", Start: t0.Add(-time.Hour)}}
	if _, err := m.Rebuild(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	event := func(visitor string, at time.Time) tributary.Event {
		return tributary.Event{SiteID: "s", VisitorID: visitor, SessionID: visitor + at.String(), Timestamp: at}
	}
	tests := []struct {
		name  string
		write func() error
		want  [][]string
	}{
		{"events of a visitor who never paid", func() error { return m.Events(ctx, []tributary.Event{event("v9", t0.Add(-time.Hour))}) }, nil},
		{"a visit after every payment", func() error { return m.Events(ctx, []tributary.Event{event("v1", t0.Add(48*time.Hour))}) }, nil},
		{"a visit within a day after a payment", func() error { return m.Events(ctx, []tributary.Event{event("v1", t0.Add(time.Hour))}) }, [][]string{{"p1"}}},
		{"a late visit before both of v1's payments", func() error { return m.Events(ctx, []tributary.Event{event("v1", t0.Add(-10*24*time.Hour))}) }, [][]string{{"p1", "p3"}}},
		{"a payment entry", func() error {
			return m.Ledger(ctx, []tributary.LedgerEntry{{SiteID: "s", PaymentID: "p2", Kind: tributary.EntryPayment}, {SiteID: "s", PaymentID: "p1", Kind: tributary.EntryRefund}})
		}, [][]string{{"p2"}}},
		{"a link", func() error {
			f.links["p2"] = &tributary.Identity{SiteID: "s", PaymentID: "p2", VisitorID: "v1", At: t0}
			return m.Identities(ctx, []tributary.Identity{*f.links["p2"]})
		}, [][]string{{"p2"}}},
		{"an identify joining nobody", func() error {
			return m.Identities(ctx, []tributary.Identity{{SiteID: "s", VisitorID: "v1", PersonID: "ann"}})
		}, nil},
		{"an identify joining v5 to v1's person", func() error {
			return m.Identities(ctx, []tributary.Identity{{SiteID: "s", VisitorID: "v5", PersonID: "ann"}})
		}, [][]string{{"p1", "p2", "p3"}}},
		{"then a visit of v5 before p3", func() error { return m.Events(ctx, []tributary.Event{event("v5", t0.Add(-8*24*time.Hour))}) }, [][]string{{"p1", "p2", "p3"}}},
	}
	for _, tt := range tests {
		f.replaced = nil
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(f.replaced) == 0 && len(tt.want) == 0 {
			continue
		}
		if !slices.EqualFunc(f.replaced, tt.want, slices.Equal[[]string]) {
			t.Errorf("%s: rewrote %v, want %v", tt.name, f.replaced, tt.want)
		}
	}
	// p2, relinked to v1, now has v1's visit and v5 as a member.
	var got []string
	for _, r := range f.rows["p2"] {
		got = append(got, r.Person+"/"+r.VisitorID+"/"+r.SessionID)
	}
	slices.Sort(got)
	if want := []string{"v1/v1/", "v1/v1/a", "v1/v5/"}; !slices.Equal(got, want) {
		t.Errorf("p2 rows %v, want %v", got, want)
	}
}

// TestOpenRebuildsStaleSites: a site left marked stale is rebuilt and unmarked when the store opens; a
// clean Close clears the marks Prepare wrote, unless a rewrite failed.
func TestOpenRebuildsStaleSites(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.times["p1"] = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f.links["p1"] = &tributary.Identity{SiteID: "s", PaymentID: "p1", VisitorID: "v1"}
	f.stale["s"] = true
	m := New(f, nil, Shared)
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.rows["p1"]) != 1 || f.stale["s"] {
		t.Fatalf("after open: rows %v, stale %v", f.rows["p1"], f.stale["s"])
	}
	if err := m.Prepare(ctx, "s"); err != nil || !f.stale["s"] {
		t.Fatalf("prepare: %v, stale %v", err, f.stale["s"])
	}
	if err := m.Close(ctx); err != nil || f.stale["s"] {
		t.Fatalf("close: %v, stale %v", err, f.stale["s"])
	}
}
