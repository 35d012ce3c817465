package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client that does not follow redirects, so tests see each step.
type browser struct {
	t   testing.TB
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(e *env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	res, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

// post submits a form with the CSRF token taken from page (or the given override).
func (b *browser) post(path string, form url.Values, csrf string) (int, string, http.Header) {
	b.t.Helper()
	if csrf != "-" {
		form.Set("csrf_token", csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

func (b *browser) token(page string) string {
	b.t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf token in page: %.300s", page)
	}
	return m[1]
}

func TestSetupLoginLogout(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)

	st, _, h := b.get("/")
	if st != http.StatusSeeOther || h.Get("Location") != "/setup" {
		t.Fatalf("fresh / = %d %s", st, h.Get("Location"))
	}
	_, page, _ := b.get("/setup")
	tok := b.token(page)

	// CSRF: missing or wrong token is refused and creates nothing.
	if st, _, _ := b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, "-"); st != http.StatusForbidden {
		t.Fatalf("setup without csrf = %d", st)
	}
	if st, _, _ := b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, strings.Repeat("x", 32)); st != http.StatusForbidden {
		t.Fatalf("setup with wrong csrf = %d", st)
	}
	if st, body, _ := b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"short"}, "password_confirm": {"short"}}, tok); st != 400 || !strings.Contains(body, "at least 10") {
		t.Fatalf("short password = %d", st)
	}
	st, _, h = b.post("/setup", url.Values{"email": {"Owner@Example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, tok)
	if st != http.StatusSeeOther || h.Get("Location") != "/sites" {
		t.Fatalf("setup = %d %s", st, h.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range res2cookies(h) {
		if c.Name == "trib_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", sess)
	}

	// Setup is closed once the owner exists.
	if st, _, h := b.get("/setup"); st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("second setup = %d %s", st, h.Get("Location"))
	}

	// Create a site through the UI, with a bad currency first.
	_, page, _ = b.get("/sites")
	tok = b.token(page)
	if st, body, _ := b.post("/sites", url.Values{"domain": {"shop.example"}, "currency": {"ABC"}, "timezone": {"UTC"}}, tok); st != 400 || !strings.Contains(body, "ISO 4217") {
		t.Fatalf("bad site = %d", st)
	}
	st, _, h = b.post("/sites", url.Values{"domain": {"shop.example"}, "name": {"<script>alert(1)</script>"}, "currency": {"GBP"}, "timezone": {"Europe/London"}}, tok)
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/settings") {
		t.Fatalf("create site = %d %s", st, h.Get("Location"))
	}
	_, page, _ = b.get(h.Get("Location"))
	if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("site name not escaped")
	}
	if !strings.Contains(page, `data-site=`) {
		t.Fatal("settings page lacks the tracking snippet")
	}

	// Logout ends the session server-side.
	_, page, _ = b.get("/sites")
	if st, _, _ := b.post("/logout", url.Values{}, b.token(page)); st != http.StatusSeeOther {
		t.Fatalf("logout = %d", st)
	}
	if st, _, h := b.get("/sites"); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("after logout /sites = %d %s", st, h.Get("Location"))
	}
	old := newBrowser(e)
	u, _ := url.Parse(e.srv.URL)
	old.jar.SetCookies(u, []*http.Cookie{sess})
	if st, _, _ := old.get("/sites"); st != http.StatusSeeOther {
		t.Fatalf("old session cookie still works: %d", st)
	}

	// Login: wrong password, then right one, and the redirect target stays on this site.
	_, page, _ = b.get("/login?next=//evil.example")
	tok = b.token(page)
	if st, _, _ := b.post("/login", url.Values{"email": {"owner@example.com"}, "password": {"wrong password"}}, tok); st != 401 {
		t.Fatalf("wrong password = %d", st)
	}
	st, _, h = b.post("/login", url.Values{"email": {"owner@example.com"}, "password": {"correct horse"}, "next": {"//evil.example"}}, tok)
	if st != http.StatusSeeOther || h.Get("Location") != "/sites" {
		t.Fatalf("login = %d %s", st, h.Get("Location"))
	}
	// The owner session authorises the JSON API too, same-origin only.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/sites", nil)
	res, err := b.c.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("API with session: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/sites", strings.NewReader(`{"domain":"x.com"}`))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = b.c.Do(req)
	if err != nil || res.StatusCode != 403 {
		t.Fatalf("cross-site API POST with session = %v %v", res.StatusCode, err)
	}
	res.Body.Close()
}

func res2cookies(h http.Header) []*http.Cookie {
	return (&http.Response{Header: h}).Cookies()
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	attacker := newBrowser(e)
	_, page, _ = attacker.get("/login")
	tok := attacker.token(page)
	var last int
	for i := 0; i < 12; i++ {
		last, _, _ = attacker.post("/login", url.Values{"email": {"o@example.com"}, "password": {"guess guess"}}, tok)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12th failed login = %d, want 429", last)
	}
	// Even the right password is refused while limited.
	if st, _, h := attacker.post("/login", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}}, tok); st != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("limited right password = %d", st)
	}
}
