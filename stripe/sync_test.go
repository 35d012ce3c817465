package stripe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe/stripeapi"
	"github.com/tributary/tributary/stripe/stripefake"
	"github.com/tributary/tributary/stripe/stripesim"
)

// syncRig is one embedded store with the simulated live flows of the newest API version, a fake Stripe
// API serving them, and a way to make sites.
type syncRig struct {
	t     *testing.T
	st    *duckdb.Store
	p     *Processor
	box   *secretbox.Box
	flows []stripesim.Flow
	fake  *stripefake.Server
	now   time.Time
	n     int
}

func newSyncRig(t *testing.T) *syncRig {
	st, err := duckdb.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.Load("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var flows []stripesim.Flow
	for _, f := range stripesim.Flows(stripesim.Versions[len(stripesim.Versions)-1]) {
		if f.Livemode {
			flows = append(flows, f)
		}
	}
	r := &syncRig{t: t, st: st, p: &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}, box: box, flows: flows}
	r.fake = stripefake.New(t, flows)
	r.now = stripefake.LastCreated(flows).Add(time.Hour)
	return r
}

func (r *syncRig) site() *tributary.Site {
	r.n++
	s := &tributary.Site{ID: fmt.Sprintf("sync%d", r.n), Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	if err := r.st.CreateSite(context.Background(), s); err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *syncRig) syncer() *Syncer {
	return &Syncer{Meta: r.st, Processor: r.p, Box: r.box, BaseURL: "https://stats.example.com", Now: func() time.Time { return r.now },
		Client: func(key string) *stripeapi.Client {
			return &stripeapi.Client{BaseURL: r.fake.Srv.URL, Key: key, Rate: 1e6, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
		}}
}

// webhooks delivers every event of the flows created before `before` (zero: all).
func (r *syncRig) webhooks(site *tributary.Site, before time.Time) {
	var items []Item
	for _, f := range r.flows {
		for _, e := range f.Events {
			if before.IsZero() || e.Created.Before(before) {
				items = append(items, Item{Site: site, Raw: e.Raw})
			}
		}
	}
	for start := 0; start < len(items); start += 100 {
		for _, o := range r.p.ApplyBatch(context.Background(), items[start:min(start+100, len(items))]) {
			if o.Err != nil {
				r.t.Fatal(o.Err)
			}
		}
	}
}

// totals is what a site's ledger and MRR add up to.
func (r *syncRig) totals(site *tributary.Site) string {
	ctx := context.Background()
	es, err := r.st.Ledger(ctx, site.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	ms, err := r.st.MRRMovements(ctx, site.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return totalsOf(es, ms)
}

func (r *syncRig) runUntilDone(s *Syncer, site *tributary.Site, id string) *Account {
	for i := 0; i < 100; i++ {
		if _, err := s.RunOnce(context.Background()); err != nil {
			r.t.Fatal(err)
		}
		a, err := s.Account(context.Background(), site.ID, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if !a.Import.Finished.IsZero() {
			return a
		}
	}
	r.t.Fatal("import did not finish")
	return nil
}

// TestImportMatchesWebhooks: importing an account's history through the list endpoints gives the same
// money as receiving the same flows' webhooks; import and webhooks together count once; an import cut
// off midway resumes from its checkpoints and ends identical; and the Events-API catch-up heals a
// four-day outage of the webhook endpoint. The fake API answers 429 and 500 along the way.
func TestImportMatchesWebhooks(t *testing.T) {
	r := newSyncRig(t)
	r.fake.FailEvery = 7
	ctx := context.Background()

	viaWebhooks := r.site()
	r.webhooks(viaWebhooks, time.Time{})
	want := r.totals(viaWebhooks)
	if !strings.Contains(want, "payment USD") || !strings.Contains(want, "refund USD") || !strings.Contains(want, "mrr USD") {
		t.Fatalf("the flows carry too little money to compare: %s", want)
	}

	t.Run("import alone", func(t *testing.T) {
		site := r.site()
		s := r.syncer()
		a, err := s.Connect(ctx, site, "rk_live_importalone1234", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != "acct_1234" || a.Mode != tributary.ModeLive || a.StripeEndpoint == "" || a.KeyHint != "1234" {
			t.Fatalf("account = %+v", a)
		}
		ep, err := r.st.StripeEndpoint(ctx, a.Endpoint)
		if err != nil || len(ep.Secrets) != 1 || ep.Secrets[0] != "whsec_fake_secret_0123456789" {
			t.Fatalf("endpoint %+v %v", ep, err)
		}
		a = r.runUntilDone(s, site, a.ID)
		if got := r.totals(site); got != want {
			t.Fatalf("import: %s\nwebhooks: %s", got, want)
		}
		if a.Import.Objects == 0 || a.Import.Types["charges"].Count == 0 {
			t.Fatalf("import state %+v", a.Import)
		}
	})

	t.Run("import and webhooks count once", func(t *testing.T) {
		site := r.site()
		r.webhooks(site, time.Time{})
		s := r.syncer()
		a, err := s.Connect(ctx, site, "rk_live_both5678", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		r.runUntilDone(s, site, a.ID)
		r.webhooks(site, time.Time{}) // Stripe retries after the import
		if got := r.totals(site); got != want {
			t.Fatalf("import + webhooks: %s\nwebhooks: %s", got, want)
		}
	})

	t.Run("cut off and resumed", func(t *testing.T) {
		site := r.site()
		s := r.syncer()
		a, err := s.Connect(ctx, site, "rk_live_resume0000", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		start := r.fake.Requests.Load()
		r.fake.OnRequest = func(n int64) {
			if n == start+6 {
				cancel() // the process dies in the middle of the import
			}
		}
		_, _ = s.RunOnce(cctx) // fails: its context ends mid-page
		r.fake.OnRequest = nil
		cut, _ := s.Account(ctx, site.ID, a.ID)
		if cut.Import.Objects == 0 || !cut.Import.Finished.IsZero() {
			t.Fatalf("the cut-off run: import %+v", cut.Import)
		}
		if !errors.Is(cctx.Err(), context.Canceled) {
			t.Fatal("the run was not cut off")
		}
		resumed := r.runUntilDone(r.syncer(), site, a.ID) // a new process
		if got := r.totals(site); got != want {
			t.Fatalf("resumed import: %s\nwebhooks: %s", got, want)
		}
		if resumed.Import.Objects < cut.Import.Objects {
			t.Fatalf("progress went back: %d < %d", resumed.Import.Objects, cut.Import.Objects)
		}
	})

	t.Run("catch-up heals an outage", func(t *testing.T) {
		site := r.site()
		outage := stripefake.LastCreated(r.flows).Add(-4 * 24 * time.Hour)
		r.webhooks(site, outage) // nothing arrives in the last four days
		if got := r.totals(site); got == want {
			t.Skip("the flows have no money in the last four days")
		}
		s := r.syncer()
		a, err := s.Connect(ctx, site, "rk_live_outage9999", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		// The account was connected before the outage and its import long finished.
		a.Import.Finished, a.LastEventAt, a.LastReconciled = outage, outage.Add(-time.Hour), r.now
		if err := s.put(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.totals(site); got != want {
			t.Fatalf("after catch-up: %s\nwebhooks: %s", got, want)
		}
		a, _ = s.Account(ctx, site.ID, a.ID)
		if !a.LastEventAt.After(outage) {
			t.Fatalf("last event %v", a.LastEventAt)
		}
	})

	t.Run("disconnect keeps the data", func(t *testing.T) {
		site := r.site()
		s := r.syncer()
		a, err := s.Connect(ctx, site, "rk_live_disconnect42", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		r.runUntilDone(s, site, a.ID)
		before := r.totals(site)
		d, err := s.Disconnect(ctx, site.ID, a.ID)
		if err != nil || !d.Disconnected || d.StripeEndpoint != "" {
			t.Fatalf("disconnect: %+v %v", d, err)
		}
		if r.fake.HasEndpoint(a.StripeEndpoint) {
			t.Fatal("the endpoint still exists in Stripe")
		}
		if _, err := r.st.StripeEndpoint(ctx, a.Endpoint); tributary.ErrorCode(err) != tributary.ENOTFOUND {
			t.Fatalf("local endpoint: %v", err)
		}
		if got := r.totals(site); got != before {
			t.Fatalf("data changed: %s vs %s", got, before)
		}
	})
}

func TestConnectRefusesBadKeys(t *testing.T) {
	r := newSyncRig(t)
	site := r.site()
	s := r.syncer()
	for _, tc := range []struct {
		key, want string
		months    int
	}{
		{"pk_live_abc", "publishable key", 12},
		{"sk_live_abc", "secret key", 12},
		{"whatever", "rk_live_", 12},
		{"rk_live_abc", "import_months", 5},
	} {
		_, err := s.Connect(context.Background(), site, tc.key, tc.months, "")
		if tributary.ErrorCode(err) != tributary.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	// A base URL Stripe cannot reach: no endpoint in Stripe, the stripe listen command instead.
	s.BaseURL = "http://localhost:8080"
	a, err := s.Connect(context.Background(), site, "rk_test_local1234", 3, "")
	if err != nil || a.StripeEndpoint != "" || !strings.Contains(a.ListenCommand, "stripe listen") || !strings.Contains(a.ListenCommand, a.Endpoint) || a.Mode != tributary.ModeTest {
		t.Fatalf("local connect: %+v %v", a, err)
	}
	if _, err := s.Connect(context.Background(), site, "rk_test_local1234", 3, ""); tributary.ErrorCode(err) != tributary.ECONFLICT {
		t.Fatalf("second connect of one account: %v", err)
	}
}

// TestOneAccountTwoSites: an account connected to two sites sends every event to both; a payment whose
// metadata names a site counts there only, one naming none counts on the account's default site (the
// first connected), so no payment is counted twice by accident.
func TestOneAccountTwoSites(t *testing.T) {
	r := newSyncRig(t)
	ctx := context.Background()
	shop, blog := r.site(), r.site()
	blog.Domain = "blog.example"
	if err := r.st.UpdateSite(ctx, blog); err != nil {
		t.Fatal(err)
	}
	s := r.syncer()
	a1, err := s.Connect(ctx, shop, "rk_live_shared0001", 1, "")
	if err != nil || !a1.Default {
		t.Fatalf("first site: %+v %v", a1, err)
	}
	a2, err := s.Connect(ctx, blog, "rk_live_shared0001", 1, "")
	if err != nil || a2.Default || !strings.Contains(a2.Warning, "tributary_site") {
		t.Fatalf("second site: %+v %v", a2, err)
	}
	charge := func(id, md string) []byte {
		return ev("evt_"+id, "charge.succeeded", 1780000000, true, `{"id":"`+id+`","object":"charge","amount":1000,"amount_captured":1000,"captured":true,"paid":true,
			"status":"succeeded","currency":"usd","created":1780000000,"metadata":{`+md+`}}`)
	}
	for _, site := range []*tributary.Site{shop, blog} {
		for _, raw := range [][]byte{charge("ch_named", `"tributary_site":"`+blog.ID+`"`), charge("ch_domainless", ``), charge("ch_websiteid", `"websiteId":"shop.example"`)} {
			if _, err := r.p.Apply(ctx, site, raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string]string{}
	for _, site := range []*tributary.Site{shop, blog} {
		es, _ := r.st.Ledger(ctx, site.ID)
		var ids []string
		for _, e := range es {
			ids = append(ids, e.PaymentID)
		}
		sort.Strings(ids)
		got[site.ID] = strings.Join(ids, ",")
	}
	if got[shop.ID] != "ch_domainless,ch_websiteid" || got[blog.ID] != "ch_named" {
		t.Fatalf("routing: %v", got)
	}
}
