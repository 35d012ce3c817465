// Package testenv gates tests that need something outside Go and gcc: Debian's Chromium or a PostgreSQL or
// ClickHouse server. A gated test skips with a message that says what it needs, unless
// TRIBUTARY_TEST_REQUIRE names the gate ("all", or a comma list such as "chromium,postgres"): then a
// missing dependency fails the test, so CI cannot pass by skipping. The recorded fixtures are part of the
// repository (testdata/fixtures), so no test needs anything beside the checkout.
package testenv

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Gate names.
const (
	Chromium   = "chromium"
	Postgres   = "postgres"
	ClickHouse = "clickhouse"
	StripeMock = "stripemock"
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

// FixturesRoot returns the repository's copy of the public fixtures, testdata/fixtures (see its
// README.md for what each file is and its license).
func FixturesRoot() string {
	return filepath.Join(ModuleRoot(), "testdata", "fixtures")
}

// FixturesDir returns FixturesRoot, failing t if a file of the checkout is missing. The fixtures are part
// of the repository, so nothing is skipped.
func FixturesDir(t testing.TB) string {
	t.Helper()
	dir := FixturesRoot()
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatalf("testenv: the repository's fixtures are missing: %v", err)
	}
	return dir
}

// StripeMockPath returns Stripe's stripe-mock binary (TRIBUTARY_STRIPE_MOCK, else stripe-mock on the PATH
// or in GOPATH/bin), skipping or failing t when it is not installed.
func StripeMockPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("TRIBUTARY_STRIPE_MOCK")
	if p == "" {
		if lp, err := exec.LookPath("stripe-mock"); err == nil {
			p = lp
		} else if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			p = filepath.Join(strings.TrimSpace(string(out)), "bin", "stripe-mock")
		}
	}
	_, err := os.Stat(p)
	Need(t, StripeMock, p != "" && err == nil, "Stripe's stripe-mock (go install github.com/stripe/stripe-mock@v0.203.0, or set TRIBUTARY_STRIPE_MOCK)")
	return p
}

// StartStripeMock starts stripe-mock on free loopback ports for the test and returns its HTTP base URL
// (skipping or failing t when it is not installed).
func StartStripeMock(t testing.TB) string {
	t.Helper()
	bin := StripeMockPath(t)
	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	httpPort, httpsPort := port(), port()
	cmd := exec.Command(bin, "-http-port", strconv.Itoa(httpPort), "-https-port", strconv.Itoa(httpsPort))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	for i := 0; ; i++ {
		if res, err := http.Get(base + "/v1/account"); err == nil {
			res.Body.Close()
			return base
		}
		if i > 150 {
			t.Fatal("stripe-mock did not start in 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
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
