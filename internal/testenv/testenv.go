// Package testenv gates tests that need something outside Go and gcc: Debian's Chromium, a PostgreSQL or
// ClickHouse server, or the shared fixtures beside the checkout. A gated test skips with a message that
// says what it needs, unless TRIBUTARY_TEST_REQUIRE names the gate ("all", or a comma list such as
// "chromium,fixtures"): then a missing dependency fails the test, so CI cannot pass by skipping.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Gate names.
const (
	Chromium   = "chromium"
	Fixtures   = "fixtures"
	Postgres   = "postgres"
	ClickHouse = "clickhouse"
)

// Required reports whether TRIBUTARY_TEST_REQUIRE makes gate mandatory.
func Required(gate string) bool {
	for _, g := range strings.Split(os.Getenv("TRIBUTARY_TEST_REQUIRE"), ",") {
		g = strings.TrimSpace(g)
		if g == "all" || g == gate {
			return true
		}
	}
	return false
}

// Need skips (or, when the gate is required, fails) t when ok is false; why says what is missing and how
// to provide it.
func Need(t testing.TB, gate string, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if Required(gate) {
		t.Fatalf("required %s suite cannot run: %s", gate, why)
	}
	t.Skipf("skipping: needs %s: %s (set TRIBUTARY_TEST_REQUIRE=%s to make this a failure)", gate, why, gate)
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FixturesDir returns the shared fixtures directory (../shared/fixtures beside the checkout, or
// TRIBUTARY_FIXTURES), skipping or failing t when it is absent.
func FixturesDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TRIBUTARY_FIXTURES")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(), "..", "shared", "fixtures")
	}
	_, err := os.Stat(dir)
	Need(t, Fixtures, err == nil, "the shared fixtures at "+dir+" (or set TRIBUTARY_FIXTURES)")
	return dir
}

// ChromiumPath returns the Chromium binary, skipping or failing t when it is not installed.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("TRIBUTARY_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	_, err := os.Stat(p)
	if err != nil {
		if lp, lerr := exec.LookPath("chromium"); lerr == nil {
			p, err = lp, nil
		}
	}
	Need(t, Chromium, err == nil, "Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
	return p
}
