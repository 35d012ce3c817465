package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAccountPassword: the owner changes the password on the Account page (the current one asked
// again); other sessions end, this one stays, and the new password logs in.
func TestAccountPassword(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e) // o@example.com / "correct horse"
	other := newBrowser(e)
	_, page, _ := other.get("/login")
	if st, _, _ := other.post("/login", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}}, other.token(page)); st != http.StatusSeeOther {
		t.Fatalf("second login: %d", st)
	}
	_, page, _ = b.get("/account")
	tok := b.token(page)
	tests := []struct {
		name, current, pw, confirm string
		status                     int
		msg                        string
	}{
		{"wrong current password", "wrong horse", "new correct horse", "new correct horse", 400, "current password is not right"},
		{"mismatch", "correct horse", "new correct horse", "new correct hors", 400, "do not match"},
		{"too short", "correct horse", "short", "short", 400, "at least 10 characters"},
		{"changed", "correct horse", "new correct horse", "new correct horse", 303, ""},
	}
	for _, tc := range tests {
		st, body, h := b.post("/account/password", url.Values{"current_password": {tc.current}, "password": {tc.pw}, "password_confirm": {tc.confirm}}, tok)
		if st != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d (%s), want %d with %q", tc.name, st, h.Get("Location"), tc.status, tc.msg)
		}
	}
	if st, page, _ := b.get("/account?changed=1"); st != 200 || !strings.Contains(page, `id="password-changed"`) {
		t.Errorf("this session after the change: %d", st)
	}
	if st, _, h := other.get("/sites"); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Errorf("the other session still works after the change: %d %s", st, h.Get("Location"))
	}
	third := newBrowser(e)
	_, page, _ = third.get("/login")
	if st, _, h := third.post("/login", url.Values{"email": {"o@example.com"}, "password": {"new correct horse"}}, third.token(page)); st != http.StatusSeeOther || h.Get("Location") == "/login" {
		t.Errorf("login with the new password: %d %s", st, h.Get("Location"))
	}
}
