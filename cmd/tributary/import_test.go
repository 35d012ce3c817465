package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/stripe/stripefake"
	"github.com/tributary/tributary/stripe/stripesim"
)

// TestImportSurvivesSIGKILL connects a Stripe account (a fake Stripe API, slowed down) to a real server,
// kills the server with SIGKILL in the middle of the history import, restarts it on the same data dir and
// checks the import resumes from its checkpoint and ends with the same ledger totals as the same flows'
// webhooks give.
func TestImportSurvivesSIGKILL(t *testing.T) {
	var live []stripesim.Flow
	for _, f := range stripesim.Flows(stripesim.Versions[len(stripesim.Versions)-1]) {
		if f.Livemode {
			live = append(live, f)
		}
	}
	flows := stripefake.Copies(live, 3)
	fake := stripefake.New(t, flows)
	fake.Delay = 20 * time.Millisecond
	dataDir := t.TempDir()
	token := "integration-admin-token-0123"
	// No --base-url: the server is on loopback, so no endpoint is made in Stripe (the import is the point).
	env := []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_DATA_DIR=" + dataDir, "TRIBUTARY_STRIPE_API_URL=" + fake.Srv.URL}
	p := start(t, env, "serve", "--listen", "127.0.0.1:0")
	api := func(p *proc, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	_, body := api(p, "POST", "/api/v1/sites", `{"domain":"import.example"}`)
	siteID := between(body, `"id":"`, `"`)
	start0 := fake.Requests.Load()
	killed := make(chan struct{})
	fake.OnRequest = func(n int64) {
		if n == start0+6 { // mid-import: the key checked (2 requests), a few pages imported, more to go
			p.cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		}
	}
	status, body := api(p, "POST", "/api/v1/sites/"+siteID+"/stripe-accounts", `{"key":"rk_live_sigkill0001","import_months":0}`)
	if status != 201 {
		t.Fatalf("connect: %d %s", status, body)
	}
	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("the import never reached the kill point")
	}
	<-p.done
	fake.OnRequest = nil
	// The dead server left a checkpoint: some objects imported, the import not finished.
	func() {
		st, err := duckdb.Open(context.Background(), dataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := (&stripe.Syncer{Meta: st}).Account(context.Background(), siteID, "acct_0001")
		if err != nil || a.Import.Objects == 0 || !a.Import.Finished.IsZero() {
			t.Fatalf("the kill did not land mid-import: %+v %v\n%s", a, err, p.logs)
		}
		t.Logf("killed with %d objects imported", a.Import.Objects)
	}()
	p = start(t, env, "serve", "--listen", "127.0.0.1:0")
	deadline := time.Now().Add(120 * time.Second)
	for {
		_, body = api(p, "GET", "/api/v1/sites/"+siteID+"/stripe-accounts/acct_0001", "")
		if strings.Contains(body, `"import_done":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import not done after restart: %s\n%s", body, p.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop(t)

	got := ledgerTotals(t, dataDir, siteID, "")
	want := webhookTotals(t, flows)
	if got != want {
		t.Fatalf("after a SIGKILL mid-import:\n%s\nwebhooks of the same flows:\n%s", got, want)
	}
}

func totalsOf(es []tributary.LedgerEntry) string {
	sum := map[string]int64{}
	for _, e := range es {
		sum[e.Kind+" "+e.Currency] += e.Amount
	}
	var out []string
	for k, v := range sum {
		if v != 0 {
			out = append(out, fmt.Sprintf("%s %d", k, v))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func ledgerTotals(t *testing.T, dir, siteID, _ string) string {
	st, err := duckdb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.Ledger(context.Background(), siteID)
	if err != nil {
		t.Fatal(err)
	}
	return totalsOf(es)
}

func webhookTotals(t *testing.T, flows []stripesim.Flow) string {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &stripe.Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
	site := &tributary.Site{ID: "ref", Domain: "import.example", Currency: "USD", Timezone: "UTC"}
	var items []stripe.Item
	for _, f := range flows {
		for _, e := range f.Events {
			items = append(items, stripe.Item{Site: site, Raw: e.Raw})
		}
	}
	for start := 0; start < len(items); start += 100 {
		for _, o := range p.ApplyBatch(ctx, items[start:min(start+100, len(items))]) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
	}
	es, err := st.Ledger(ctx, site.ID)
	if err != nil {
		t.Fatal(err)
	}
	return totalsOf(es)
}
