package stats

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// memoSite is a store with multi-touch journeys, people on two devices, refunds, an unattributed
// payment, a refund of a payment the ledger does not hold and a test-mode payment: every path the
// memo keeps.
type memoSite struct {
	t  *testing.T
	st *duckdb.Store
	// phonePay is the payment of the person on two devices.
	phonePay string
	r        *rand.Rand
	seq      int
}

var memoChannels = []struct{ channel, source string }{
	{"Organic Search", "Google"}, {"Direct", ""}, {"Paid Search", "Google"}, {"Email", "newsletter"}, {"Referral", "news.example"},
}

func newMemoSite(t *testing.T) *memoSite {
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &memoSite{t: t, st: st, r: rand.New(rand.NewPCG(3, 5))}
	for v := 0; v < 40; v++ {
		visitor := fmt.Sprintf("v%02d", v)
		at := now.Add(-time.Duration(1+m.r.IntN(25*24)) * time.Hour)
		for k := 0; k < 1+m.r.IntN(4); k++ {
			m.visit(visitor, at)
			at = at.Add(time.Duration(2+m.r.IntN(72)) * time.Hour)
		}
		if v%3 == 0 && at.Before(now) {
			m.pay(visitor, at)
		}
	}
	// Two devices of one person; the phone pays.
	m.visit("laptop", now.Add(-20*24*time.Hour))
	m.visit("phone", now.Add(-5*24*time.Hour))
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-20 * 24 * time.Hour), VisitorID: "laptop", PersonID: "ann@example.com", Email: "ann@example.com"},
		tributary.Identity{SiteID: "s1", At: now.Add(-5 * 24 * time.Hour), VisitorID: "phone", PersonID: "ann@example.com", Email: "ann@example.com"})
	m.phonePay = m.pay("phone", now.Add(-5*24*time.Hour+time.Hour))
	// Unattributed, refund without its payment, test mode.
	m.ledger(m.entry("pay:u", "payment", "u", now.Add(-3*24*time.Hour), 2000))
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-3 * 24 * time.Hour), PaymentID: "u", LinkMethod: "unattributed", Channel: "Referral", ReferrerSource: "news.example"})
	m.ledger(m.entry("refund:orphan", "refund", "orphan", now.Add(-2*24*time.Hour), -700))
	test := m.entry("pay:t", "payment", "t", now.Add(-24*time.Hour), 900)
	test.Livemode = false
	m.ledger(test)
	return m
}

func (m *memoSite) event(visitor, session, path string, at time.Time, ch int) {
	c := memoChannels[ch]
	if err := m.st.InsertEvents(context.Background(), []tributary.Event{{SiteID: "s1", Timestamp: at, Name: "pageview", Source: "browser",
		VisitorID: visitor, SessionID: session, Hostname: "shop.example", Path: path, Channel: c.channel, ReferrerSource: c.source,
		Country: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}}); err != nil {
		m.t.Fatal(err)
	}
}

// visit stores a visit of one or two pageviews starting at at and returns its session.
func (m *memoSite) visit(visitor string, at time.Time) string {
	m.seq++
	s := fmt.Sprintf("s%03d", m.seq)
	ch := m.r.IntN(len(memoChannels))
	m.event(visitor, s, "/", at, ch)
	if m.r.IntN(2) == 0 {
		m.event(visitor, s, "/pricing", at.Add(time.Minute), ch)
	}
	return s
}

func (m *memoSite) entry(id, kind, pay string, at time.Time, amount int64) tributary.LedgerEntry {
	return tributary.LedgerEntry{ID: id, SiteID: "s1", Livemode: true, Kind: kind, PaymentID: pay, OccurredAt: at, Amount: amount, Currency: "USD",
		ReportingAmount: amount, ReportingCurrency: "USD", Rate: "1", Converted: true, Source: "stripe"}
}

func (m *memoSite) ledger(es ...tributary.LedgerEntry) {
	if _, err := m.st.InsertLedger(context.Background(), es); err != nil {
		m.t.Fatal(err)
	}
}

// sync syncs the visits now, so their change report lands where the test writes.
func (m *memoSite) sync() {
	if err := m.st.SyncVisits(context.Background()); err != nil {
		m.t.Fatal(err)
	}
}

func (m *memoSite) identities(ids ...tributary.Identity) {
	if err := m.st.InsertIdentities(context.Background(), ids); err != nil {
		m.t.Fatal(err)
	}
}

// pay stores a payment by visitor at at, linked by metadata, and sometimes its partial refund.
func (m *memoSite) pay(visitor string, at time.Time) string {
	m.seq++
	p := fmt.Sprintf("p%03d", m.seq)
	amount := int64(1000 + 100*m.r.IntN(90))
	m.ledger(m.entry("pay:"+p, "payment", p, at, amount))
	m.identities(tributary.Identity{SiteID: "s1", At: at, VisitorID: visitor, PaymentID: p, LinkMethod: "metadata", CustomerID: "cus_" + visitor, Source: "stripe"})
	if m.r.IntN(4) == 0 && at.Add(time.Hour).Before(now) {
		m.ledger(m.entry("refund:"+p, "refund", p, at.Add(time.Hour), -amount/3))
	}
	return p
}

// memoQueries are the queries compared: money by visit dimensions under every model and two lookbacks,
// the KPIs, conversions, and the metrics that read people and visits directly.
func memoQueries() []string {
	var qs []string
	for _, model := range []string{"first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"} {
		for _, lb := range []int{30, 7} {
			for _, dim := range []string{"visit:channel", "visit:exit_page", "visit:source"} {
				qs = append(qs, fmt.Sprintf(`{"site_id":"s1","metrics":["revenue","refunds","net_revenue","payments","customers","time_to_convert"],"dimensions":[%q],
					"date_range":"30d","attribution":{"model":%q,"lookback_days":%d}}`, dim, model, lb))
			}
		}
	}
	return append(qs,
		`{"site_id":"s1","metrics":["revenue","refunds","payments","customers","ltv"],"date_range":"30d"}`,
		`{"site_id":"s1","metrics":["revenue","payments"],"dimensions":["payment:link_method"],"date_range":"30d"}`,
		`{"site_id":"s1","metrics":["revenue"],"dimensions":["visit:channel"],"date_range":"7d"}`,
		`{"site_id":"s1","metrics":["revenue","payments"],"dimensions":["visit:channel"],"filters":[["is","visit:device",["desktop"]]],"date_range":"30d"}`,
		// Conversions count the range's paying visitors (kept by the memo per range).
		`{"site_id":"s1","metrics":["visitors","conversions","conversion_rate"],"date_range":"30d","compare":"previous_period"}`,
		`{"site_id":"s1","metrics":["visitors","conversions","conversion_rate"],"date_range":"7d"}`,
		`{"site_id":"s1","metrics":["visitors","conversions","conversion_rate"],"dimensions":["visit:channel"],"date_range":"30d"}`,
		`{"site_id":"s1","metrics":["conversions"],"dimensions":["visit:exit_page"],"date_range":"30d"}`,
		`{"site_id":"s1","metrics":["conversions"],"dimensions":["visit:entry_page"],"date_range":"7d"}`,
	)
}

// answers runs every memo query on e, one at a time and as one page.
func answers(t *testing.T, e *Engine) string {
	t.Helper()
	var qs []*Query
	var out []string
	for _, body := range memoQueries() {
		q, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		qs = append(qs, q)
		res, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatalf("run %s: %v", body, err)
		}
		out = append(out, flat(res))
	}
	page, err := e.RunAll(context.Background(), qs, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range page {
		if got := flat(res); got != out[i] {
			t.Errorf("query %d alone and in a page differ:\n%s\n%s", i, out[i], got)
		}
	}
	return strings.Join(out, "\n")
}

// check compares the memo engine's answers with an engine that works everything out afresh.
func (m *memoSite) check(step string, memoized *Engine) {
	m.t.Helper()
	fresh := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits))
	want, got := answers(m.t, fresh), answers(m.t, memoized)
	if got != want {
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		for i := range wl {
			if wl[i] != gl[i] {
				m.t.Errorf("%s: query %d\n got %s\nwant %s", step, i, gl[i], wl[i])
			}
		}
	}
}

// kept returns the memo's states under the default lookback.
func kept(e *Engine) map[string]*payState {
	e.memo.mu.Lock()
	defer e.memo.mu.Unlock()
	out := map[string]*payState{}
	if sm := e.memo.sites["s1"]; sm != nil {
		for p, st := range sm.states[30*24*time.Hour] {
			out[p] = st
		}
	}
	return out
}

func TestMemoFollowsEveryWrite(t *testing.T) {
	m := newMemoSite(t)
	e := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits), WithChanges(m.st.Subscribe))
	m.check("initial", e)
	before := kept(e)
	if len(before) < 10 {
		t.Fatalf("the memo keeps %d payments after a page; want every payment of the range", len(before))
	}
	unchanged := func(step string, except ...string) {
		t.Helper()
		after := kept(e)
		for p, st := range before {
			if !contains(except, p) && after[p] != st {
				t.Errorf("%s: payment %s was worked out again; only %v should be", step, p, except)
			}
		}
		before = after
	}

	// A new payment: only it is worked out.
	s := m.visit("newbie", now.Add(-10*time.Hour))
	p := m.pay("newbie", now.Add(-9*time.Hour))
	m.check("new payment", e)
	unchanged("new payment", p)
	if kept(e)[p] == nil {
		t.Errorf("the new payment %s is not kept", p)
	}

	// A refund of an earlier payment.
	var old string
	for id, st := range before {
		if st.link != nil && st.link.visitor != "" && st.link.visitor != "phone" && id != p {
			old = id
			break
		}
	}
	m.ledger(m.entry("refund:late", "refund", old, now.Add(-time.Hour), -100))
	m.check("refund", e)
	unchanged("refund", old)

	// Entries the kept ranges must take in or leave out: one not converted yet, a test-mode one, a
	// failed attempt, a payment older than the range refunded within it, and a time finer than the
	// store's microseconds.
	unconverted := m.entry("pay:unconv", "payment", "unconv", now.Add(-4*time.Hour), 1200)
	unconverted.Converted, unconverted.ReportingAmount = false, 0
	testMode := m.entry("pay:test2", "payment", "test2", now.Add(-4*time.Hour), 1300)
	testMode.Livemode = false
	m.ledger(unconverted, testMode, m.entry("fail:x", "payment_failed", "failed", now.Add(-4*time.Hour), 1400),
		m.entry("pay:ancient", "payment", "ancient", now.Add(-40*24*time.Hour), 5000))
	m.check("entries to leave out", e)
	m.ledger(m.entry("pay:fine", "payment", "fine", now.Add(-2*time.Hour+123456789*time.Nanosecond), 3300))
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-2 * time.Hour), VisitorID: "v05", PaymentID: "fine", LinkMethod: "metadata"})
	m.check("a time finer than the store's", e)
	m.ledger(m.entry("refund:ancient", "refund", "ancient", now.Add(-3*time.Hour), -500))
	m.check("refund of a payment before the range", e)
	unchanged("ledger odds", "fine", "ancient")

	// The new payer's other device becomes the same person: its earlier visit is now a touchpoint.
	m.visit("newbie-laptop", now.Add(-3*24*time.Hour))
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-8 * time.Hour), VisitorID: "newbie", Email: "new@example.com"},
		tributary.Identity{SiteID: "s1", At: now.Add(-8 * time.Hour), VisitorID: "newbie-laptop", Email: "new@example.com"})
	m.check("merge", e)
	unchanged("merge", p)

	// A late event: a visit of the paying person before the payment.
	m.visit("newbie-laptop", now.Add(-2*24*time.Hour))
	m.check("late visit", e)
	unchanged("late visit", p)

	// The touch session goes on after the payment: its exit page changes.
	m.event("newbie", s, "/thanks", now.Add(-9*time.Hour+5*time.Minute), 0)
	m.check("exit page", e)
	unchanged("exit page", p)

	// A visit after the payment changes no touchpoint: nothing is worked out again.
	m.visit("newbie", now.Add(-2*time.Hour))
	m.check("visit after paying", e)
	unchanged("visit after paying")

	// The payment is linked again, to another visitor.
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-8 * time.Hour), VisitorID: "v01", PaymentID: p, LinkMethod: "client_reference_id"})
	m.check("relink", e)
	unchanged("relink", p)

	// An identify that groups nobody new changes nothing either.
	m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-time.Hour), VisitorID: "phone", PersonID: "ann@example.com", Email: "ann@example.com"})
	m.check("repeated identify", e)
	unchanged("repeated identify")

	// The site's data goes.
	if err := m.st.DeleteSiteData(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	m.check("deleted", e)
}

// TestMemoWriteDuringRead stores a write of each kind while the memo works payments out: what it read
// before the write must not be kept.
func TestMemoWriteDuringRead(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(m *memoSite)
	}{
		{"late visit", func(m *memoSite) {
			m.visit("phone", now.Add(-6*24*time.Hour))
			m.sync()
		}},
		{"merge", func(m *memoSite) {
			m.identities(tributary.Identity{SiteID: "s1", At: now, VisitorID: "v03", Email: "ann@example.com"})
		}},
		{"refund", func(m *memoSite) { m.ledger(m.entry("refund:during", "refund", m.phonePay, now.Add(-time.Hour), -50)) }},
		{"relink", func(m *memoSite) {
			m.identities(tributary.Identity{SiteID: "s1", At: now, VisitorID: "v02", PaymentID: m.phonePay, LinkMethod: "client_reference_id"})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMemoSite(t)
			e := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits), WithChanges(m.st.Subscribe))
			// A first page keeps every payment; a visit of the phone's person then drops its payment, so
			// the next page works that one out again, and the write lands in the middle.
			answers(t, e)
			m.visit("laptop", now.Add(-7*24*time.Hour))
			once := false
			e.memo.afterRead = func() {
				if !once {
					once = true
					c.write(m)
				}
			}
			for _, body := range memoQueries() {
				q, err := ParseQuery([]byte(body), site, now)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Run(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
			if !once {
				t.Fatal("no payment was worked out again")
			}
			e.memo.afterRead = nil
			m.check("after a write during a read", e)
		})
	}
}

// TestMemoUnderConcurrentWrites writes while pages are being answered; once the writes stop, the memo
// must hold nothing read before a write it missed.
func TestMemoUnderConcurrentWrites(t *testing.T) {
	m := newMemoSite(t)
	e := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits), WithChanges(m.st.Subscribe))
	var qs []*Query
	for _, body := range memoQueries()[:6] {
		q, err := ParseQuery([]byte(body), site, now)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.RunAll(context.Background(), qs, 2); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 30; i++ {
		v := fmt.Sprintf("v%02d", m.r.IntN(40))
		switch i % 3 {
		case 0:
			m.visit(v, now.Add(-time.Duration(1+m.r.IntN(20*24))*time.Hour))
		case 1:
			m.pay(v, now.Add(-time.Duration(1+m.r.IntN(48))*time.Hour))
		default:
			m.identities(tributary.Identity{SiteID: "s1", At: now.Add(-time.Hour), VisitorID: v, Email: fmt.Sprintf("p%d@example.com", m.r.IntN(5))})
		}
	}
	close(stop)
	wg.Wait()
	m.check("after concurrent writes", e)
}

// TestWarm fills the memo for the default dashboard, so the first page reads no touchpoint.
func TestWarm(t *testing.T) {
	m := newMemoSite(t)
	e := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits), WithChanges(m.st.Subscribe))
	if err := e.Warm(context.Background(), site, now); err != nil {
		t.Fatal(err)
	}
	warmed := kept(e)
	if len(warmed) < 10 {
		t.Fatalf("Warm kept %d payments; want every payment of the last 30 days", len(warmed))
	}
	// The paying visitors of the dashboard's range and of the period its KPIs compare with.
	snaps := func() map[payingKey]*payingCounts {
		e.memo.mu.Lock()
		defer e.memo.mu.Unlock()
		out := map[payingKey]*payingCounts{}
		for k, pp := range e.memo.sites["s1"].paying {
			out[k] = pp.snap
		}
		return out
	}
	paying := snaps()
	if len(paying) != 2 {
		t.Fatalf("Warm kept paying visitors for %d ranges; want 2", len(paying))
	}
	m.check("after warming", e)
	for p, st := range kept(e) {
		if warmed[p] != st {
			t.Errorf("payment %s was worked out again after warming", p)
		}
	}
	for k, snap := range snaps() {
		if paying[k] != nil && snap != paying[k] {
			t.Errorf("the paying visitors of %v were read again after warming", k)
		}
	}
	// Without a memo there is nothing to warm.
	if err := NewEngine(m.st.DB(), DuckDB{}).Warm(context.Background(), site, now); err != nil {
		t.Fatal(err)
	}
}

// TestPayingWriteDuringRead stores a write while the memo reads a range's paying visitors: the read
// must not hide it from the next page.
func TestPayingWriteDuringRead(t *testing.T) {
	for _, c := range []struct {
		name   string
		before func(m *memoSite) // after the first page, before the read the write lands in
		write  func(m *memoSite)
	}{
		{"visit of a payer during the first read", nil, func(m *memoSite) {
			m.visit("phone", now.Add(-2*24*time.Hour))
			m.sync()
		}},
		{"visit of a new payer while it is read", func(m *memoSite) {
			m.visit("late", now.Add(-4*24*time.Hour))
			m.pay("late", now.Add(-4*24*time.Hour+time.Hour))
		}, func(m *memoSite) {
			m.visit("late", now.Add(-3*24*time.Hour))
			m.visit("late", now.Add(-2*24*time.Hour))
			m.sync()
		}},
		{"new payer while others are read", func(m *memoSite) {
			m.visit("phone", now.Add(-24*time.Hour))
		}, func(m *memoSite) {
			m.visit("other", now.Add(-3*24*time.Hour))
			m.pay("other", now.Add(-3*24*time.Hour+time.Hour))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMemoSite(t)
			e := NewEngine(m.st.DB(), DuckDB{}, WithSync(m.st.SyncVisits), WithChanges(m.st.Subscribe))
			q, err := ParseQuery([]byte(`{"site_id":"s1","metrics":["conversions"],"dimensions":["visit:channel"],"date_range":"30d"}`), site, now)
			if err != nil {
				t.Fatal(err)
			}
			if c.before != nil {
				if _, err := e.Run(context.Background(), q); err != nil {
					t.Fatal(err)
				}
				c.before(m)
			}
			once := false
			e.memo.afterPayingRead = func() {
				if !once {
					once = true
					c.write(m)
				}
			}
			if _, err := e.Run(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			if !once {
				t.Fatal("the paying visitors were not read again")
			}
			e.memo.afterPayingRead = nil
			m.check("after a write during a read", e)
		})
	}
}
