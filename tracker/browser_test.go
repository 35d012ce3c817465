package tracker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tributary/tributary/internal/browsertest"
	"github.com/tributary/tributary/tracker"
)

// beacon is one body the tracker posted, decoded strictly: an unknown field fails the test, because the
// server is written against exactly these.
type beacon struct {
	Site        string         `json:"site"`
	Name        string         `json:"name"`
	URL         string         `json:"url"`
	Referrer    *string        `json:"referrer"`
	VisitorID   *string        `json:"visitor_id"`
	SessionID   *string        `json:"session_id"`
	Props       map[string]any `json:"props"`
	ScreenWidth *int           `json:"screen_width"`
	Identity    string         `json:"identity"`
	FBP         string         `json:"fbp"`

	path, contentType string
}

// summary is what the assertions compare: name, path and query of the page, referrer, props, identity.
func (b beacon) summary() string {
	u, _ := url.Parse(b.URL)
	props, _ := json.Marshal(b.Props)
	return strings.Join([]string{b.Name, u.RequestURI(), *b.Referrer, string(props), b.Identity}, " ")
}

// collector is a fake /api/event: it records every body and answers like the real one.
type collector struct {
	t    *testing.T
	mu   sync.Mutex
	got  []beacon
	errs []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var b beacon
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&b)
	b.path, b.contentType = r.URL.Path, r.Header.Get("Content-Type")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs = append(c.errs, err.Error())
	} else {
		c.got = append(c.got, b)
	}
	w.WriteHeader(http.StatusAccepted)
}

// wait returns the beacons once n have arrived and no more follow for a moment (so duplicates are
// seen), failing after a few seconds.
func (c *collector) wait(n int) []beacon {
	c.t.Helper()
	deadline, settled := time.Now().Add(5*time.Second), time.Time{}
	for {
		c.mu.Lock()
		got, errs := slices.Clone(c.got), c.errs
		c.mu.Unlock()
		if len(errs) > 0 {
			c.t.Fatalf("undecodable beacon: %v", errs)
		}
		if len(got) >= n && settled.IsZero() {
			settled = time.Now().Add(150 * time.Millisecond)
		}
		if len(got) > n || time.Now().After(deadline) || (!settled.IsZero() && time.Now().After(settled)) {
			if len(got) != n {
				c.t.Fatalf("got %d beacons, want %d:\n%s", len(got), n, summaries(got))
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func summaries(bs []beacon) string {
	var s []string
	for _, b := range bs {
		s = append(s, b.summary())
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}

// testPage describes the test page: extra attributes on the script tag and a script run before it.
type testPage struct {
	attrs  string
	before string
}

const pageHTML = `<!doctype html><html><head><title>shop</title>
<script>window.__errors=[];addEventListener('error',function(e){__errors.push(String(e.message))});
window.__sent=0;var sb=navigator.sendBeacon.bind(navigator);navigator.sendBeacon=function(u,b){__sent++;return sb(u,b)};
%s</script>
<script>window.tributary=window.tributary||function(){(window.tributary.q=window.tributary.q||[]).push(arguments)};
tributary('track','early',{source:'queue'});</script>
<script defer src="/js/tributary.js" data-site="site_1" %s></script>
<script defer src="/js/tributary.js" data-site="site_1" %[2]s></script>
</head><body>
<a id="pl" href="https://buy.stripe.com/test_abc?prefilled_email=x%%40y.z">Buy</a>
<a id="own" href="https://buy.stripe.com/test_own?client_reference_id=order_42">Buy (own id)</a>
<a id="stale" href="https://buy.stripe.com/test_old?client_reference_id=trib-AAAAAAAAAAAAAAAAAAAA-BBBBBBBBBBBBBBBBBBBB">Buy (old id)</a>
<a id="other" href="https://example.org/x?a=1">Other</a>
<stripe-buy-button id="bb" buy-button-id="buy_btn_1" publishable-key="pk_test_1"></stripe-buy-button>
<script>setTimeout(function(){var a=document.createElement('a');a.id='late';a.href='https://buy.stripe.com/test_late';a.textContent='late';
document.body.appendChild(a);var t=document.createElement('stripe-pricing-table');t.id='pt';document.body.appendChild(t)},500)</script>
</body></html>`

// serve starts the site under test on 127.0.0.1: the page at any path, the real tracker handler at /js/
// and a fake collector at /api/event and /collect.
func serve(t *testing.T, p testPage) (*httptest.Server, *collector) {
	col := &collector{t: t}
	mux := http.NewServeMux()
	mux.Handle("GET /js/", tracker.Handler())
	mux.Handle("POST /api/event", col)
	mux.Handle("POST /collect", col)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, pageHTML, p.before, p.attrs)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, col
}

// tab opens a tab in a fresh browser context: its own cookie jar and storage.
func tab(t *testing.T, browser context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitLate waits for the elements the page adds 500 ms after load.
func waitLate(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.WaitReady(chromedp.ID("pt")))
}

func noErrors(t *testing.T, ctx context.Context) {
	t.Helper()
	if errs := eval[[]string](t, ctx, `window.__errors`); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9]{20}$`)

// checkIDs asserts that every beacon carries the same well-formed visitor and session id and returns
// them.
func checkIDs(t *testing.T, bs []beacon) (vid, sid string) {
	t.Helper()
	vid, sid = *bs[0].VisitorID, *bs[0].SessionID
	if !idRE.MatchString(vid) || !idRE.MatchString(sid) || vid == sid {
		t.Fatalf("ids %q / %q", vid, sid)
	}
	for _, b := range bs {
		if *b.VisitorID != vid || *b.SessionID != sid {
			t.Fatalf("%s has ids %s/%s, want %s/%s", b.summary(), *b.VisitorID, *b.SessionID, vid, sid)
		}
	}
	return vid, sid
}

// TestBrowser runs the real tracker in Debian's Chromium against a fake collector.
func TestBrowser(t *testing.T) {
	browser := browsertest.New(t, 60*time.Second)

	t.Run("attribution", func(t *testing.T) {
		srv, col := serve(t, testPage{attrs: `data-allow-localhost data-exclude="/admin/*, /preview/**"`})
		ctx := tab(t, browser)
		landing := "/landing?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=XYZ"
		// Arrive from a news site: the first pageview carries document.referrer (the origin only, by the
		// default referrer policy).
		do(t, ctx, navigateFrom(srv.URL+landing, "http://news.example/story?id=1"))
		waitLate(t, ctx)
		col.wait(2)

		eval[any](t, ctx, `history.pushState({}, '', '/pricing?plan=pro');
			history.pushState({}, '', '/pricing?plan=pro');         // same URL: no second pageview
			history.replaceState({}, '', '/pricing?plan=pro#faq');  // hash change without data-hash: none
			history.pushState({}, '', '/admin/users');              // excluded by /admin/*
			history.pushState({}, '', '/preview/a/b');              // excluded by /preview/**
			history.pushState({}, '', '/admin/users/1');            // * is one segment: tracked
			history.pushState({}, '', '/signup');
			tributary.track('signup', {plan: 'pro', seats: 3, trial: false, nested: {dropped: true}});
			tributary.identify('a@b.co', {plan: 'pro'});
			history.back(); 1`)
		got := col.wait(8)
		want := []string{
			`early /landing?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=XYZ  {"source":"queue"} `,
			`pageview /landing?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=XYZ http://news.example/ {} `,
			`pageview /pricing?plan=pro  {} `,
			`pageview /admin/users/1  {} `,
			`pageview /signup  {} `,
			`signup /signup  {"plan":"pro","seats":3,"trial":false} `,
			`identify /signup  {"plan":"pro"} a@b.co`,
			`pageview /admin/users/1  {} `, // history.back(): popstate
		}
		slices.Sort(want)
		if s := summaries(got); s != strings.Join(want, "\n") {
			t.Fatalf("beacons:\n%s\nwant:\n%s", s, strings.Join(want, "\n"))
		}
		width := eval[int](t, ctx, `window.innerWidth`)
		for _, b := range got {
			if b.Site != "site_1" || b.path != "/api/event" || !strings.HasPrefix(b.contentType, "text/plain") || b.Props == nil || b.ScreenWidth == nil || *b.ScreenWidth != width {
				t.Fatalf("beacon %s: site %q, sent to %s as %q, screen_width %v (want %d)", b.summary(), b.Site, b.path, b.contentType, b.ScreenWidth, width)
			}
		}
		vid, sid := checkIDs(t, got)
		if v, s := eval[string](t, ctx, `tributary.getVisitorId()`), eval[string](t, ctx, `tributary.getSessionId()`); v != vid || s != sid {
			t.Fatalf("getVisitorId/getSessionId = %s/%s, want %s/%s", v, s, vid, sid)
		}
		cookies := eval[string](t, ctx, `document.cookie`)
		if !strings.Contains(cookies, "trib_vid="+vid) || !strings.Contains(cookies, "trib_sid="+sid) {
			t.Fatalf("cookies %q", cookies)
		}
		if n := eval[int](t, ctx, `localStorage.length`); n != 0 {
			t.Fatalf("localStorage used while cookies work: %d items", n)
		}

		ref := "trib-" + vid + "-" + sid
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`).MatchString(ref) {
			t.Fatalf("client_reference_id %q breaks Stripe's rule", ref)
		}
		href := func(id string) url.Values {
			u, err := url.Parse(eval[string](t, ctx, `document.getElementById('`+id+`').href`))
			if err != nil {
				t.Fatal(err)
			}
			return u.Query()
		}
		attr := func(id string) string {
			return eval[string](t, ctx, `document.getElementById('`+id+`').getAttribute('client-reference-id') || ''`)
		}
		checks := []struct{ what, got, want string }{
			{"payment link id", href("pl").Get("client_reference_id"), ref},
			{"payment link keeps its params", href("pl").Get("prefilled_email"), "x@y.z"},
			{"site's own id kept", href("own").Get("client_reference_id"), "order_42"},
			{"old tracker id replaced", href("stale").Get("client_reference_id"), ref},
			{"other links untouched", eval[string](t, ctx, `document.getElementById('other').href`), "https://example.org/x?a=1"},
			{"buy button", attr("bb"), ref},
			{"late payment link", href("late").Get("client_reference_id"), ref},
			{"late pricing table", attr("pt"), ref},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
			}
		}
		jar, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
			return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		})
		if err != nil {
			t.Fatal(err)
		}
		ages := map[string]float64{}
		for _, c := range jar.Cookies {
			if c.Path != "/" || c.SameSite != network.CookieSameSiteLax || c.Secure || c.HTTPOnly {
				t.Errorf("cookie %s: path %q, SameSite %q, Secure %v (http page), HttpOnly %v", c.Name, c.Path, c.SameSite, c.Secure, c.HTTPOnly)
			}
			ages[c.Name] = c.Expires - float64(time.Now().UnixMilli())/1e3
		}
		if len(ages) != 2 || ages["trib_vid"] < 365*86400-60 || ages["trib_vid"] > 365*86400+1 || ages["trib_sid"] < 1800-60 || ages["trib_sid"] > 1800+1 {
			t.Errorf("cookie lifetimes in seconds: %v, want trib_vid a year and trib_sid 30 minutes", ages)
		}

		// A framework re-rendering the href gets decorated again.
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('pl').href = 'https://buy.stripe.com/test_new'`),
			chromedp.Poll[chromedp.Void](`document.getElementById('pl').href == 'https://buy.stripe.com/test_new?client_reference_id=`+ref+`'`,
				chromedp.WithPollingTimeout(3*time.Second)))

		// 31 idle minutes later the session cookie is gone: the next event starts a new session for the
		// same visitor, and the links follow.
		eval[any](t, ctx, `var now = Date.now(); Date.now = function () { return now + 31 * 60e3 };
			document.cookie = 'trib_sid=; Max-Age=0; Path=/'; tributary.track('later'); 1`)
		later := col.wait(9)
		var rolled beacon
		for _, b := range later {
			if b.Name == "later" {
				rolled = b
			}
		}
		if *rolled.VisitorID != vid || *rolled.SessionID == sid || !idRE.MatchString(*rolled.SessionID) {
			t.Fatalf("after 31 idle minutes: ids %s/%s, want %s and a new session (was %s)", *rolled.VisitorID, *rolled.SessionID, vid, sid)
		}
		if got, want := href("pl").Get("client_reference_id"), "trib-"+vid+"-"+*rolled.SessionID; got != want {
			t.Fatalf("payment link after the session rolled: %q, want %q", got, want)
		}
		noErrors(t, ctx)
	})

	t.Run("cookieless", func(t *testing.T) {
		srv, col := serve(t, testPage{attrs: `data-allow-localhost data-cookieless`})
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(srv.URL+"/c?utm_source=news"))
		waitLate(t, ctx)
		eval[any](t, ctx, `tributary.track('signup', {plan: 'pro'}); 1`)
		got := col.wait(3)
		want := "early /c?utm_source=news  {\"source\":\"queue\"} \npageview /c?utm_source=news  {} \nsignup /c?utm_source=news  {\"plan\":\"pro\"} "
		if s := summaries(got); s != want {
			t.Fatalf("beacons:\n%s\nwant:\n%s", s, want)
		}
		for _, b := range got {
			if *b.VisitorID != "" || *b.SessionID != "" {
				t.Fatalf("cookieless beacon carries ids %q/%q", *b.VisitorID, *b.SessionID)
			}
		}
		state := eval[string](t, ctx, `document.cookie + '|' + localStorage.length + '|' + sessionStorage.length + '|' + tributary.getVisitorId() + tributary.getSessionId()`)
		if state != "|0|0|" {
			t.Fatalf("cookieless mode kept state on the device: %q", state)
		}
		time.Sleep(50 * time.Millisecond) // let the observer run for the late elements
		for _, id := range []string{"pl", "late"} {
			if h := eval[string](t, ctx, `document.getElementById('`+id+`').href`); strings.Contains(h, "client_reference_id") {
				t.Fatalf("cookieless mode decorated %s: %s", id, h)
			}
		}
		if attr := eval[string](t, ctx, `document.getElementById('bb').getAttribute('client-reference-id') || ''`); attr != "" {
			t.Fatalf("cookieless mode decorated the buy button: %q", attr)
		}
		noErrors(t, ctx)
	})

	// Blocked storage must never break the page: ids fall back to localStorage, then to memory.
	blockCookies := `Object.defineProperty(document,'cookie',{get:function(){throw new DOMException('blocked','SecurityError')},set:function(){throw new DOMException('blocked','SecurityError')}});`
	blockStorage := `Object.defineProperty(window,'localStorage',{get:function(){throw new DOMException('blocked','SecurityError')}});`
	for _, tc := range []struct {
		name, before string
		stored       bool
	}{
		{"cookies blocked", blockCookies, true},
		{"cookies and storage blocked", blockCookies + blockStorage, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, col := serve(t, testPage{attrs: "data-allow-localhost", before: tc.before})
			ctx := tab(t, browser)
			do(t, ctx, chromedp.Navigate(srv.URL+"/p"))
			waitLate(t, ctx)
			eval[any](t, ctx, `history.pushState({}, '', '/q'); tributary.track('x'); 1`)
			got := col.wait(4)
			vid, sid := checkIDs(t, got)
			blocked := eval[string](t, ctx, `[function(){document.cookie}, function(){localStorage}].map(function(f){try{f();return 'open'}catch(e){return 'blocked'}}).join()`)
			if want := map[bool]string{true: "blocked,open", false: "blocked,blocked"}[tc.stored]; blocked != want {
				t.Fatalf("the page's storage is %s, want %s", blocked, want)
			}
			if tc.stored {
				stored := eval[string](t, ctx, `JSON.parse(localStorage.getItem('trib_vid')).v + '/' + JSON.parse(localStorage.getItem('trib_sid')).v`)
				if stored != vid+"/"+sid {
					t.Fatalf("localStorage holds %s, want %s/%s", stored, vid, sid)
				}
			}
			u, _ := url.Parse(eval[string](t, ctx, `document.getElementById('late').href`))
			if u.Query().Get("client_reference_id") != "trib-"+vid+"-"+sid {
				t.Fatalf("late link %s", u)
			}
			noErrors(t, ctx)
		})
	}

	t.Run("hash routing and data-api", func(t *testing.T) {
		srv, col := serve(t, testPage{attrs: `data-allow-localhost data-hash data-api="/collect"`})
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(srv.URL+"/app#/home"))
		col.wait(2)
		eval[any](t, ctx, `location.hash = '#/settings'; 1`)
		got := col.wait(3)
		var urls []string
		for _, b := range got {
			if b.path != "/collect" {
				t.Fatalf("sent to %s despite data-api", b.path)
			}
			if b.Name == "pageview" {
				urls = append(urls, strings.TrimPrefix(b.URL, srv.URL))
			}
		}
		slices.Sort(urls)
		if want := []string{"/app#/home", "/app#/settings"}; !slices.Equal(urls, want) {
			t.Fatalf("pageviews %v, want %v", urls, want)
		}
	})

	t.Run("localhost ignored", func(t *testing.T) {
		// The refusal is said once in the console (an install that does nothing must say why).
		srv, _ := serve(t, testPage{before: `window.__warn=[];var cw=console.warn;console.warn=function(){__warn.push([].join.call(arguments,' '));cw.apply(console,arguments)};`})
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(srv.URL+"/p"))
		waitLate(t, ctx)
		// Nothing is sent (checked synchronously through the wrapped sendBeacon), nothing stored.
		state := eval[string](t, ctx, `tributary.track('x'); history.pushState({}, '', '/q'); __sent + '|' + document.cookie + '|' + localStorage.length + '|' + tributary.getVisitorId()`)
		if state != "0||0|" {
			t.Fatalf("on 127.0.0.1 without data-allow-localhost: %q", state)
		}
		warns := eval[[]string](t, ctx, `window.__warn`)
		if len(warns) != 1 || !strings.Contains(warns[0], "not tracking 127.0.0.1 pages; add data-allow-localhost") {
			t.Fatalf("console warnings %q, want one naming data-allow-localhost", warns)
		}
		noErrors(t, ctx)
	})
}

// navigateFrom navigates as if from a link on referrer; chromedp.Navigate has no referrer.
func navigateFrom(u, referrer string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: u, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = fmt.Errorf("navigate %s: %s", u, res.ErrorText)
		}
		return err
	})
}

// TestBrowserConsent: tributary.consent(false) and consent(true) record the visitor's choice as a
// "consent" event, which the destinations read before sending any conversion (issue 22).
func TestBrowserConsent(t *testing.T) {
	browser := browsertest.New(t, 60*time.Second)
	srv, col := serve(t, testPage{attrs: `data-allow-localhost`})
	ctx := tab(t, browser)
	do(t, ctx, navigateFrom(srv.URL+"/landing?fbclid=F1", ""))
	waitLate(t, ctx)
	col.wait(2)
	eval[any](t, ctx, `tributary.consent(false); tributary('consent', 1); 1`)
	got := col.wait(4)
	want := []string{
		`consent /landing?fbclid=F1  {"granted":"false"} `,
		`consent /landing?fbclid=F1  {"granted":"true"} `,
		`early /landing?fbclid=F1  {"source":"queue"} `,
		`pageview /landing?fbclid=F1  {} `,
	}
	if s := summaries(got); s != strings.Join(want, "\n") {
		t.Fatalf("beacons:\n%s\nwant:\n%s", s, strings.Join(want, "\n"))
	}
	checkIDs(t, got)
	noErrors(t, ctx)
}

// TestBrowserFBP: with Meta's _fbp cookie set, pageviews carry it as fbp (other events do not); after
// consent(false) no pageview carries it, on this page or the next; in cookieless mode never (issue 22).
func TestBrowserFBP(t *testing.T) {
	browser := browsertest.New(t, 60*time.Second)
	const fbp = "fb.1.1795170600000.1234567890"
	fbpOf := func(bs []beacon, name string) []string {
		var out []string
		for _, b := range bs {
			if b.Name == name {
				out = append(out, b.FBP)
			}
		}
		slices.Sort(out)
		return out
	}
	t.Run("cookies", func(t *testing.T) {
		srv, col := serve(t, testPage{attrs: `data-allow-localhost`, before: `document.cookie="_fbp=` + fbp + `;path=/"`})
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(srv.URL+"/landing"))
		waitLate(t, ctx)
		got := col.wait(2)
		if p, e := fbpOf(got, "pageview"), fbpOf(got, "early"); len(p) != 1 || p[0] != fbp || len(e) != 1 || e[0] != "" {
			t.Fatalf("fbp of pageviews %q, of the custom event %q", p, e)
		}
		eval[any](t, ctx, `tributary.consent(false); history.pushState(0, "", "/after"); 1`)
		got = col.wait(4)
		if p := fbpOf(got, "pageview"); len(p) != 2 || p[0] != "" || p[1] != fbp {
			t.Fatalf("fbp of pageviews after consent(false): %q", p)
		}
		do(t, ctx, chromedp.Navigate(srv.URL+"/next"))
		waitLate(t, ctx)
		got = col.wait(6)
		if p := fbpOf(got, "pageview"); len(p) != 3 || p[0] != "" || p[1] != "" {
			t.Fatalf("fbp of pageviews on the next page: %q", p)
		}
		noErrors(t, ctx)
	})
	t.Run("cookieless", func(t *testing.T) {
		srv, col := serve(t, testPage{attrs: `data-allow-localhost data-cookieless`, before: `document.cookie="_fbp=` + fbp + `;path=/"`})
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(srv.URL+"/landing"))
		waitLate(t, ctx)
		if p := fbpOf(col.wait(2), "pageview"); len(p) != 1 || p[0] != "" {
			t.Fatalf("cookieless pageview fbp %q", p)
		}
		noErrors(t, ctx)
	})
}
