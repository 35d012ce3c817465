package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/stripe"
)

// node is one running server with the admin token.
type node struct {
	t     *testing.T
	p     *proc
	token string
}

func (n *node) call(method, path, body string, hdr map[string]string) (int, string, error) {
	req, _ := http.NewRequest(method, n.p.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func (n *node) admin(method, path, body string) (int, string) {
	n.t.Helper()
	st, b, err := n.call(method, path, body, map[string]string{"Authorization": "Bearer " + n.token})
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	return st, b
}

// fixture is what one installation needs to receive the traffic: a site, a Stripe endpoint and an
// API key.
type fixture struct {
	site, endpoint, key string
}

const clusterSecret = "whsec_cluster_test_secret_0001"

func setupSite(t *testing.T, n *node, keyNode *node) fixture {
	t.Helper()
	st, body := n.admin("POST", "/api/v1/sites", `{"domain":"cluster.example","currency":"EUR","timezone":"UTC"}`)
	if st != 201 {
		t.Fatalf("create site: %d %s", st, body)
	}
	f := fixture{site: between(body, `"id":"`, `"`)}
	st, body = n.admin("POST", "/api/v1/sites/"+f.site+"/stripe-endpoints", `{"mode":"test","signing_secret":"`+clusterSecret+`"}`)
	if st != 201 {
		t.Fatalf("create endpoint: %d %s", st, body)
	}
	f.endpoint = between(body, `"id":"`, `"`)
	// The key is created through the other node: the MetaStore is shared.
	st, body = keyNode.admin("POST", "/api/v1/sites/"+f.site+"/api-keys", `{"name":"backend","scopes":["events:write","stats:read"]}`)
	if st != 201 {
		t.Fatalf("create key: %d %s", st, body)
	}
	f.key = between(body, `"key":"`, `"`)
	return f
}

// item is one request of the traffic, sent to whichever node is alive until one acknowledges it.
type item struct {
	kind string // event, s2s, stripe
	id   string
	send func(n *node, f fixture) (int, error)
}

func traffic(start time.Time) []item {
	var items []item
	channels := []string{"https://www.google.com/", "https://news.ycombinator.com/", "", "https://t.co/x", "https://duckduckgo.com/"}
	for v := 0; v < 60; v++ {
		vid := fmt.Sprintf("V%019d", v)
		for k := 0; k < 4; k++ {
			at := start.Add(time.Duration(v)*17*time.Minute + time.Duration(k)*time.Minute)
			sid := fmt.Sprintf("S%019d", v*10+k/2)
			ref := ""
			if k%2 == 0 {
				ref = channels[v%len(channels)]
			}
			path := []string{"/", "/pricing", "/docs", "/signup"}[k]
			body := fmt.Sprintf(`{"site":"%%s","name":"pageview","url":"https://cluster.example%s?utm_campaign=c%d","referrer":%q,"visitor_id":%q,"session_id":%q,"screen_width":1280}`,
				path, v%3, ref, vid, sid)
			atStr := at.Format(time.RFC3339Nano)
			ip := fmt.Sprintf("198.51.100.%d", v%200+1)
			items = append(items, item{kind: "event", id: fmt.Sprintf("ev-%d-%d", v, k), send: func(n *node, f fixture) (int, error) {
				st, _, err := n.call("POST", "/api/event", fmt.Sprintf(body, f.site), map[string]string{
					"Authorization": "Bearer " + n.token, "X-Tributary-Backfill-Time": atStr, "User-Agent": chromeUA,
					"X-Forwarded-For": ip})
				return st, err
			}})
		}
		paidAt := start.Add(time.Duration(v)*17*time.Minute + 5*time.Minute)
		switch v % 3 {
		case 0: // a Stripe charge linked to the visitor by metadata
			evID := fmt.Sprintf("evt_cluster_%03d", v)
			payload := fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2024-06-20","created":%d,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_cluster_%03d","object":"charge","amount":%d,"amount_captured":%d,"captured":true,"paid":true,"status":"succeeded","currency":"eur","created":%d,"payment_intent":"pi_cluster_%03d","metadata":{"tributary_visitor_id":%q}}}}`,
				evID, paidAt.Unix(), v, 1000+v*7, 1000+v*7, paidAt.Unix(), v, vid)
			send := func(n *node, f fixture) (int, error) {
				st, _, err := n.call("POST", "/stripe/webhook/"+f.endpoint, payload, map[string]string{
					"Stripe-Signature": stripe.SignPayload([]byte(payload), clusterSecret, time.Now())})
				return st, err
			}
			items = append(items, item{kind: "stripe", id: evID, send: send})
		case 1: // a server-to-server purchase for the visitor
			body := fmt.Sprintf(`{"event_id":"s2s_cluster_%03d","event_name":"purchase","event_type":"purchase","amount":%d,"currency":"EUR","visitor_id":%q,"timestamp":%q}`,
				v, 2050+v, vid, paidAt.Format(time.RFC3339))
			items = append(items, item{kind: "s2s", id: fmt.Sprintf("s2s-%d", v), send: func(n *node, f fixture) (int, error) {
				st, _, err := n.call("POST", "/api/v1/events", body, map[string]string{"Authorization": "Bearer " + f.key})
				return st, err
			}})
		}
	}
	return items
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// TestTwoNodesBehaveAsOne runs two servers on one PostgreSQL + ClickHouse, spreads browser events,
// server-to-server events and Stripe deliveries over both, kills one with SIGKILL part-way, and checks
// that every acknowledged request counts exactly once: the query results equal those of one embedded
// node fed the same acknowledged requests once each. A login made on one node works on the other.
func TestTwoNodesBehaveAsOne(t *testing.T) {
	pg := testenv.PostgresDSN(t)
	ch := testenv.ClickHouseDSN(t)
	token := "cluster-admin-token-0123456"
	clusterEnv := []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_META_DSN=" + pg, "TRIBUTARY_EVENTS_DSN=" + ch,
		"TRIBUTARY_WEBHOOK_LEASE=3s", "TRIBUTARY_TRUSTED_PROXIES=127.0.0.1"}
	a := &node{t: t, p: start(t, clusterEnv, "serve", "--listen", "127.0.0.1:0"), token: token}
	b := &node{t: t, p: start(t, clusterEnv, "serve", "--listen", "127.0.0.1:0"), token: token}
	ref := &node{t: t, p: start(t, []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_DATA_DIR=" + t.TempDir(), "TRIBUTARY_TRUSTED_PROXIES=127.0.0.1",
		"TRIBUTARY_INGEST_ACK=durable"}, "serve", "--listen", "127.0.0.1:0"), token: token}

	fc := setupSite(t, a, b)
	fr := setupSite(t, ref, ref)

	// A login made on one node is valid on the other: sessions live in PostgreSQL.
	c := setupOwnerOn(t, a, "owner@cluster.example", "correct horse battery")
	res, err := c.Get(b.p.url + "/sites")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "cluster.example") {
		t.Fatalf("node b with node a's session: %d %.300s", res.StatusCode, page)
	}
	items := traffic(time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour))

	// Two senders, one per node, as a load balancer would spread clients; b dies after a third of its
	// share, between two of its requests, and its remaining share goes to a. A request whose answer is
	// not 2xx is retried on the other node, as browsers' retries, Stripe and API clients do.
	var mu sync.Mutex
	acked := map[string]bool{}
	sendTo := func(primary, fallback *node, its []item, killAfter int) {
		for i, it := range its {
			if i == killAfter {
				primary.p.cmd.Process.Signal(syscall.SIGKILL)
				<-primary.p.done
			}
			target := primary
			if killAfter >= 0 && i >= killAfter {
				target = fallback
			}
			for attempt := 0; ; attempt++ {
				st, err := it.send(target, fc)
				if err == nil && st/100 == 2 {
					mu.Lock()
					if acked[it.id] {
						t.Errorf("%s acknowledged twice", it.id)
					}
					acked[it.id] = true
					mu.Unlock()
					break
				}
				if attempt > 20 {
					t.Errorf("%s never acknowledged: %d %v", it.kind, st, err)
					break
				}
				target = fallback
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	var shareA, shareB []item
	for i, it := range items {
		if i%2 == 0 {
			shareA = append(shareA, it)
		} else {
			shareB = append(shareB, it)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sendTo(a, a, shareA, -1) }()
	go func() { defer wg.Done(); sendTo(b, a, shareB, len(shareB)/3) }()
	wg.Wait()
	if t.Failed() {
		return
	}
	// The reference node gets every acknowledged request once.
	for _, it := range items {
		if st, err := it.send(ref, fr); err != nil || st/100 != 2 {
			t.Fatalf("reference %s: %d %v", it.id, st, err)
		}
	}

	// Every acknowledged Stripe delivery is processed exactly once, including those b had claimed.
	wantStripe := 0
	for _, it := range items {
		if it.kind == "stripe" {
			wantStripe++
		}
	}
	for _, n := range []struct {
		node *node
		f    fixture
	}{{a, fc}, {ref, fr}} {
		deadline := time.Now().Add(90 * time.Second)
		for {
			_, body := n.node.admin("GET", "/api/v1/sites/"+n.f.site+"/webhook-deliveries?status=processed&limit=1000", "")
			perEvent := map[string]int{}
			for _, part := range strings.Split(body, `"event_id":"`)[1:] {
				perEvent[part[:strings.Index(part, `"`)]]++
			}
			if len(perEvent) == wantStripe {
				for id, c := range perEvent {
					if c != 1 {
						t.Errorf("event %s processed %d times", id, c)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d Stripe events processed after 90 s", len(perEvent), wantStripe)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	// Same answers from the cluster (asked on the surviving node) and from the reference.
	queries := []string{
		`{"site_id":"%s","metrics":["visitors","visits","pageviews","bounce_rate"],"date_range":"all"}`,
		`{"site_id":"%s","metrics":["visitors","revenue","payments","net_revenue","conversions"],"dimensions":["visit:channel"],"date_range":"all","mode":"test"}`,
		`{"site_id":"%s","metrics":["revenue","payments"],"dimensions":["payment:link_method"],"date_range":"all","mode":"test"}`,
		`{"site_id":"%s","metrics":["pageviews","revenue"],"dimensions":["time:day"],"date_range":"all","mode":"test","attribution":{"model":"linear"}}`,
		`{"site_id":"%s","metrics":["visitors"],"dimensions":["visit:utm_campaign"],"date_range":"all"}`,
	}
	var answers []string
	for _, q := range queries {
		var want, got any
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, rb := ref.admin("POST", "/api/v1/query", fmt.Sprintf(q, fr.site))
			_, cb := a.admin("POST", "/api/v1/query", fmt.Sprintf(q, fc.site))
			want, got = results(t, rb), results(t, cb)
			if fmt.Sprint(want) == fmt.Sprint(got) || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond) // ClickHouse merges replaced rows in the background
		}
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("query %s\ncluster:   %v\nreference: %v", q, got, want)
		}
		answers = append(answers, fmt.Sprint(got))
	}
	// The answers are about the traffic sent, not empty on both sides: 60 visitors, 240 pageviews, and
	// the 20 Stripe charges' and 20 API purchases' money.
	if !strings.HasPrefix(answers[0], "[{[] [60 ") || !strings.Contains(answers[0], " 240 ") {
		t.Errorf("traffic answer %s, want 60 visitors and 240 pageviews", answers[0])
	}
	if !strings.Contains(answers[1], "Organic Search") || !strings.Contains(answers[1], "Organic Social") {
		t.Errorf("money by channel %s lacks the channels sent", answers[1])
	}

	t.Logf("%d requests acknowledged across two nodes, node b killed after %d of its %d", len(acked), len(shareB)/3, len(shareB))
}

func results(t *testing.T, body string) any {
	t.Helper()
	var m struct {
		Results []struct {
			Dimensions []any `json:"dimensions"`
			Metrics    []any `json:"metrics"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("query answer %q: %v", body, err)
	}
	return m.Results
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// setupOwnerOn creates the owner through node n's setup page and returns a client holding the session
// (the cookie jar sends it to every node on 127.0.0.1: cookies do not tell ports apart).
func setupOwnerOn(t *testing.T, n *node, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(n.p.url + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRe.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token on /setup: %.300s", page)
	}
	res, err = c.PostForm(n.p.url+"/setup", url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}, "password_confirm": {password}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %v %v", res, err)
	}
	res.Body.Close()
	return c
}
