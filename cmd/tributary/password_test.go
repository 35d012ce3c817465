package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/duckdb"
)

// TestResetPassword: reset-password sets a new password for the owner of a stopped data dir, prints
// it, and ends every session; it names what is missing otherwise.
func TestResetPassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.CreateOwner(ctx, &tributary.User{ID: "u1", Email: "owner@example.com", PasswordHash: "x", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, &tributary.Session{ID: "s1", UserID: "u1", CSRFToken: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	env := func(string) string { return "" }
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no email", []string{"reset-password", "--data-dir", dir}, 2, "needs --email"},
		{"unknown owner", []string{"reset-password", "--data-dir", dir, "--email", "nobody@example.com"}, 1, "not found"},
		{"reset", []string{"reset-password", "--data-dir", dir, "--email", "Owner@Example.com"}, 0, ""},
	}
	var out string
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(ctx, tc.args, env, &stdout, &stderr); code != tc.code || !strings.Contains(strings.ToLower(stderr.String()), tc.stderr) {
			t.Fatalf("%s: exit %d, stderr %q; want %d with %q", tc.name, code, stderr.String(), tc.code, tc.stderr)
		}
		out = stdout.String()
	}
	m := regexp.MustCompile(`New password for owner@example.com: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q", out)
	}
	st, err = duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByID(ctx, "u1")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(m[1])) != nil {
		t.Fatalf("the printed password does not match the stored hash (%v)", err)
	}
	if _, err := st.SessionByID(ctx, "s1"); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Errorf("the session survived the reset: %v", err)
	}
}
