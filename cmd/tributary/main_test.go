package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary/tributary/stripe"
)

func TestHelpListsEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"serve", "--help"}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		for _, want := range []string{"--listen", "TRIBUTARY_LISTEN", ":8080", "--data-dir", "TRIBUTARY_DATA_DIR", "./tributary-data",
			"--base-url", "TRIBUTARY_BASE_URL", "--admin-token", "TRIBUTARY_ADMIN_TOKEN", "--meta-dsn", "TRIBUTARY_META_DSN",
			"--events-dsn", "TRIBUTARY_EVENTS_DSN", "--trusted-proxies", "--log-level", "TRIBUTARY_LOG_LEVEL", "--log-format", "TRIBUTARY_LOG_FORMAT"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: help lacks %q", args, want)
			}
		}
	}
}

func TestBadConfigExplains(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--listen", "nonsense"}, nil, "--listen"},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level"},
		{[]string{"serve"}, map[string]string{"TRIBUTARY_LOG_FORMAT": "xml"}, "--log-format"},
		{[]string{"serve", "--admin-token", "short"}, nil, "at least 16"},
		{[]string{"serve", "--base-url", "stats.example.com"}, nil, "--base-url"},
		{[]string{"serve", "--meta-dsn", "mysql://x"}, nil, "postgres://"},
		{[]string{"serve", "--trusted-proxies", "10.0.0.0/99"}, nil, "--trusted-proxies"},
		{[]string{"serve", "extra"}, nil, "unexpected argument"},
		{[]string{"frobnicate"}, nil, "unknown command"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want mention of %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tributary-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "tributary")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build tributary: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	done chan error
}

var readyRe = regexp.MustCompile(`tributary ready" url=(http://\S+)`)

// start runs the built binary with args and waits until it logs its URL.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.logs.WriteString(sc.Text() + "\n")
			if m := readyRe.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	select {
	case p.url = <-urlc:
	case err := <-p.done:
		t.Fatalf("server exited before ready: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server not ready after 30s:\n%s", p.logs)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after SIGTERM:\n%s", p.logs)
	}
}

func TestServeRestartKeepsData(t *testing.T) {
	dataDir := t.TempDir()
	token := "integration-admin-token-0123"
	env := []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_DATA_DIR=" + dataDir}
	began := time.Now()
	p := start(t, env, "serve", "--listen", "127.0.0.1:0")
	res, err := http.Get(p.url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	t.Logf("first start: ready in %v (fresh data dir, migrations applied)", time.Since(began))

	// A second process on the same data dir is refused with a message that says why.
	out, err := exec.Command(binPath, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another process") {
		t.Fatalf("second server on the same data dir: %v\n%s", err, out)
	}

	req, _ := http.NewRequest("POST", p.url+"/api/v1/sites", strings.NewReader(`{"domain":"restart.example","currency":"CHF"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create site: %v %v", res, err)
	}
	p.stop(t)
	if !strings.Contains(p.logs.String(), "stopped") {
		t.Fatalf("no clean stop in logs:\n%s", p.logs)
	}

	began = time.Now()
	p = start(t, env, "serve", "--listen", "127.0.0.1:0")
	t.Logf("restart: ready in %v", time.Since(began))
	// The embedded store's cache was warmed before the server listened, and said so in the server's
	// own log format.
	if !strings.Contains(p.logs.String(), `msg="duckdb: cache warmed" tables="visits_by_day `) {
		t.Errorf("no warming of the store's cache logged before ready:\n%s", p.logs)
	}
	req, _ = http.NewRequest("GET", p.url+"/api/v1/sites", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), `"restart.example"`) || !strings.Contains(string(body), `"CHF"`) {
		t.Fatalf("site lost across restart: %s", body)
	}
	p.stop(t)
}

// TestCrashLosesNoAcknowledgedDelivery streams signed Stripe deliveries at a server, kills it with SIGKILL
// mid-stream, restarts it on the same data dir and checks that every acknowledged delivery is stored
// once and processed (the inbox takes over deliveries left pending or leased by the dead process).
func TestCrashLosesNoAcknowledgedDelivery(t *testing.T) {
	dataDir := t.TempDir()
	token := "integration-admin-token-0123"
	env := []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_DATA_DIR=" + dataDir}
	p := start(t, env, "serve", "--listen", "127.0.0.1:0")
	api := func(p *proc, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	_, body := api(p, "POST", "/api/v1/sites", `{"domain":"crash.example"}`)
	siteID := between(body, `"id":"`, `"`)
	secret := "whsec_crash_test_secret_0001"
	_, body = api(p, "POST", "/api/v1/sites/"+siteID+"/stripe-endpoints", `{"mode":"test","signing_secret":"`+secret+`"}`)
	ep := between(body, `"id":"`, `"`)

	acked := map[string]bool{}
	send := func(p *proc, i int) bool {
		id := fmt.Sprintf("evt_crash_%04d", i)
		payload := fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2024-06-20","created":%d,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_crash_%04d","object":"charge","amount":%d,"amount_captured":%d,"captured":true,"paid":true,"status":"succeeded","currency":"usd","created":%d}}}`,
			id, time.Now().Unix(), i, 100+i, 100+i, time.Now().Unix())
		req, _ := http.NewRequest("POST", p.url+"/stripe/webhook/"+ep, strings.NewReader(payload))
		req.Header.Set("Stripe-Signature", stripe.SignPayload([]byte(payload), secret, time.Now()))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			acked[id] = true
			return true
		}
		return false
	}
	// Stream from a goroutine-free loop and kill the process part-way, so some requests are in flight.
	killed := false
	for i := 0; i < 400; i++ {
		if i == 150 && !killed {
			p.cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
		if !send(p, i) && killed {
			break
		}
	}
	<-p.done
	before := len(acked)
	if before < 100 || before >= 400 {
		t.Fatalf("%d deliveries acknowledged before the kill; the kill must land mid-stream", before)
	}
	p = start(t, env, "serve", "--listen", "127.0.0.1:0")
	// Stripe retries what was not acknowledged; re-send everything, as it would eventually.
	for i := 0; i < 400; i++ {
		send(p, i)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body = api(p, "GET", "/api/v1/sites/"+siteID+"/webhook-deliveries?status=processed&limit=1000", "")
		if n := strings.Count(body, `"status":"processed"`); n >= 400 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	processed := map[string]int{}
	for _, part := range strings.Split(body, `"event_id":"`)[1:] {
		processed[part[:strings.Index(part, `"`)]]++
	}
	for id := range acked {
		if processed[id] != 1 {
			t.Errorf("acknowledged %s processed %d times", id, processed[id])
		}
	}
	if len(processed) != 400 {
		t.Fatalf("%d distinct events processed, want 400 (acknowledged before the kill: %d)", len(processed), len(acked))
	}
	_, body = api(p, "POST", "/api/v1/query", `{"site_id":"`+siteID+`","metrics":["payments"],"date_range":"all","mode":"test"}`)
	if !strings.Contains(body, `"metrics":[400]`) {
		t.Fatalf("payments after the crash: %s", body)
	}
	p.stop(t)
	t.Logf("%d deliveries acknowledged before SIGKILL; all 400 stored and processed exactly once after restart", before)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	return s[:strings.Index(s, b)]
}
