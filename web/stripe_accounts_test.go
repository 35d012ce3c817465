package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/stripe/stripeapi"
	"github.com/tributary/tributary/stripe/stripefake"
	"github.com/tributary/tributary/stripe/stripesim"
	"github.com/tributary/tributary/web"
)

// TestStripeAccountsAPI connects an account through the management API against the fake Stripe API,
// follows the import to its end, and disconnects; the key is never returned.
func TestStripeAccountsAPI(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var flows []stripesim.Flow
	for _, f := range stripesim.Flows(stripesim.Versions[len(stripesim.Versions)-1])[:6] {
		if f.Livemode {
			flows = append(flows, f)
		}
	}
	fake := stripefake.New(t, flows)
	box, _ := secretbox.Load("", t.TempDir())
	now := stripefake.LastCreated(flows).Add(time.Hour)
	rec := ledger.New(st, st)
	sy := &stripe.Syncer{Meta: st, Processor: &stripe.Processor{Meta: st, Events: st, Ledger: rec}, Box: box, BaseURL: "https://stats.example.com",
		Now: func() time.Time { return now },
		Client: func(key string) *stripeapi.Client {
			return &stripeapi.Client{BaseURL: fake.Srv.URL, Key: key, Rate: 1e6}
		}}
	w := web.New(web.Options{Logger: slog.New(slog.DiscardHandler), Meta: st, Events: st, Sites: &sites.Service{Meta: st, Events: st}, AdminToken: adminToken, Now: func() time.Time { return now },
		Version: "test", MaxBodyBytes: 64 << 10, Ledger: rec, Stripe: sy})
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	e := &env{t: t, srv: srv, store: st, web: w}
	site := &tributary.Site{ID: "acctsite", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/sites/acctsite/stripe-accounts"
	for _, tc := range []struct{ body, want string }{
		{`{"key":"pk_live_abc"}`, "publishable key"},
		{`{"key":"sk_live_abc"}`, "secret key"},
		{`{"key":"rk_live_abc","import_months":7}`, "import_months"},
	} {
		if r := e.do("POST", base, adminToken, tc.body); r.status != 400 || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s", tc.body, r.status, r.body)
		}
	}
	r := e.do("POST", base, adminToken, `{"key":"rk_live_apikey_secret_9876","import_months":0}`)
	if r.status != 201 || strings.Contains(string(r.body), "apikey_secret") {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	var a struct {
		ID             string `json:"id"`
		Mode           string `json:"mode"`
		KeyHint        string `json:"key_hint"`
		StripeEndpoint string `json:"stripe_endpoint_id"`
		TypesTotal     int    `json:"types_total"`
		Done           bool   `json:"import_done"`
		Import         struct {
			Objects int `json:"objects"`
		} `json:"import"`
	}
	json.Unmarshal(r.body, &a)
	if a.ID != "acct_9876" || a.Mode != "live" || a.KeyHint != "9876" || a.StripeEndpoint == "" || a.TypesTotal == 0 || a.Done {
		t.Fatalf("account %+v", a)
	}
	for i := 0; i < 20 && !a.Done; i++ {
		if _, err := sy.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", base+"/"+a.ID, adminToken, "")
		json.Unmarshal(r.body, &a)
	}
	if !a.Done || a.Import.Objects == 0 {
		t.Fatalf("import did not finish: %s", r.body)
	}
	if es, _ := st.Ledger(ctx, "acctsite"); len(es) == 0 {
		t.Fatal("the import recorded no money")
	}
	r = e.do("GET", base, adminToken, "")
	if r.status != 200 || !strings.Contains(string(r.body), `"permissions"`) || strings.Contains(string(r.body), "apikey_secret") {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r = e.do("POST", base, adminToken, `{"key":"rk_live_apikey_secret_9876"}`); r.status != 409 {
		t.Fatalf("second connect: %d %s", r.status, r.body)
	}
	if r = e.do("DELETE", base+"/"+a.ID, adminToken, ""); r.status != 200 || !strings.Contains(string(r.body), `"disconnected":true`) || fake.HasEndpoint(a.StripeEndpoint) {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	if r = e.do("GET", base+"/acct_none", adminToken, ""); r.status != 404 {
		t.Fatalf("unknown account: %d", r.status)
	}
}

// TestStripePageConnect walks the Stripe page as a user: the permissions to grant, a refused key with
// its reason, connecting with a restricted key, the import's progress to its end, the manual endpoint
// made without a secret first, and disconnecting.
func TestStripePageConnect(t *testing.T) {
	var flows []stripesim.Flow
	for _, f := range stripesim.Flows(stripesim.Versions[len(stripesim.Versions)-1])[:5] {
		if f.Livemode {
			flows = append(flows, f)
		}
	}
	fake := stripefake.New(t, flows)
	box, _ := secretbox.Load("", t.TempDir())
	var sy *stripe.Syncer
	e, _ := newEnvWith(t, false, func(o *web.Options) {
		sy = &stripe.Syncer{Meta: o.Meta, Processor: &stripe.Processor{Meta: o.Meta, Events: o.Events, Ledger: o.Ledger}, Box: box,
			BaseURL: "https://stats.example.com", Now: func() time.Time { return stripefake.LastCreated(flows).Add(time.Hour) },
			Client: func(key string) *stripeapi.Client {
				return &stripeapi.Client{BaseURL: fake.Srv.URL, Key: key, Rate: 1e6}
			}}
		o.Stripe = sy
	})
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	siteID := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example"}`).json(t)["id"].(string)
	_, page, _ = b.get("/sites/" + siteID + "/stripe")
	for _, want := range []string{"Connect Stripe", "Webhook Endpoints: Write", "Charges: Read", `id="connect-form"`, `data-copy="events-list"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("stripe page lacks %q", want)
		}
	}
	if status, body, _ := b.post("/sites/"+siteID+"/stripe/accounts", url.Values{"key": {"sk_live_nope"}, "import_months": {"12"}}, b.token(page)); status != 400 || !strings.Contains(body, "secret key") {
		t.Fatalf("a secret key: %d", status)
	}
	if status, _, _ := b.post("/sites/"+siteID+"/stripe/accounts", url.Values{"key": {"rk_live_pagekey0001"}, "import_months": {"0"}}, b.token(page)); status != 303 {
		t.Fatalf("connect: %d", status)
	}
	_, page, _ = b.get("/sites/" + siteID + "/stripe")
	if !strings.Contains(page, "acct_0001") || !strings.Contains(page, "key …0001") || !strings.Contains(page, `data-import-done="false"`) {
		t.Fatalf("connected account not shown: %.3000s", page)
	}
	for i := 0; i < 20; i++ {
		if _, err := sy.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_, page, _ = b.get("/sites/" + siteID + "/stripe")
	if !strings.Contains(page, `data-import-done="true"`) || !strings.Contains(page, "done — ") {
		t.Fatalf("finished import not shown: %.4000s", page)
	}
	// The manual path: the endpoint first, its secret later.
	if status, _, _ := b.post("/sites/"+siteID+"/stripe/endpoints", url.Values{"mode": {"test"}}, b.token(page)); status != 303 {
		t.Fatalf("endpoint without secret: %d", status)
	}
	_, page, _ = b.get("/sites/" + siteID + "/stripe")
	if !strings.Contains(page, "The test endpoint has no signing secret yet") {
		t.Fatal("an endpoint without a secret is not flagged")
	}
	if status, _, _ := b.post("/sites/"+siteID+"/stripe/accounts/acct_0001/disconnect", url.Values{}, b.token(page)); status != 303 {
		t.Fatalf("disconnect: %d", status)
	}
	_, page, _ = b.get("/sites/" + siteID + "/stripe")
	if !strings.Contains(page, "disconnected (its data stays)") {
		t.Fatal("disconnected account not shown")
	}
}
