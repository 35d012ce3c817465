package web_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/tributary/tributary/web"
)

// postFrom submits a form as if from client address addr (the test server trusts loopback as a proxy).
func (b *browser) postFrom(addr, path string, form url.Values, csrf string) int {
	b.t.Helper()
	form.Set("csrf_token", csrf)
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("X-Forwarded-For", addr)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestLoginLockoutCannotBeTurnedAgainstTheOwner pins the login throttle: failures count, successes do
// not; an address that keeps failing is held back with a growing wait; but the right password from an
// address that has not failed always gets in. Before, 11 wrong passwords for the owner's e-mail from
// 11 addresses made the right password answer 429 for 15 minutes from every address, and successful
// logins counted too.
func TestLoginLockoutCannotBeTurnedAgainstTheOwner(t *testing.T) {
	e, _ := newEnvWith(t, false, func(o *web.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	owner := newBrowser(e)
	_, page, _ := owner.get("/setup")
	owner.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, owner.token(page))
	_, page, _ = owner.get("/login")
	tok := owner.token(page)
	login := func(addr, pw string) int {
		return owner.postFrom(addr, "/login", url.Values{"email": {"o@example.com"}, "password": {pw}}, tok)
	}
	steps := []struct {
		name     string
		addr, pw string
		times    int
		want     int
	}{
		{"spread attack: one wrong password from each of 30 addresses", "", "guess guess", 30, http.StatusUnauthorized},
		{"right password from a fresh address", "198.51.100.200", "correct horse", 1, http.StatusSeeOther},
		{"right password from an address that failed once", "203.0.113.1", "correct horse", 1, http.StatusSeeOther},
		{"successful logins do not count", "198.51.100.201", "correct horse", 30, http.StatusSeeOther},
		{"one address failing 5 times", "192.0.2.66", "guess guess", 5, http.StatusUnauthorized},
		{"is then held back", "192.0.2.66", "guess guess", 1, http.StatusTooManyRequests},
		{"even with the right password", "192.0.2.66", "correct horse", 1, http.StatusTooManyRequests},
		{"while the owner elsewhere gets in", "198.51.100.202", "correct horse", 1, http.StatusSeeOther},
	}
	for _, s := range steps {
		for i := 0; i < s.times; i++ {
			addr := s.addr
			if addr == "" {
				addr = fmt.Sprintf("203.0.113.%d", i+1)
			}
			if got := login(addr, s.pw); got != s.want {
				t.Fatalf("%s (attempt %d from %s): %d, want %d", s.name, i+1, addr, got, s.want)
			}
		}
	}
}
