package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tributary/tributary/stripe"
)

// TestCrashBetweenLedgerAndSend: Stripe payments reach a server with a webhook destination; the server
// is killed with SIGKILL while their outbox rows wait to be sent (and some are being sent), restarted on
// the same data dir, and Stripe's retries arrive again. Every payment reaches the destination, each under
// one delivery id (the dedup key a receiver keys on), none lost (issue 22).
func TestCrashBetweenLedgerAndSend(t *testing.T) {
	var mu sync.Mutex
	byEntry := map[string]map[string]int{} // entry id → delivery ids seen
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(100 * time.Millisecond) // a platform's latency: the kill lands while a batch is being sent
		var ev struct {
			Entry struct {
				ID string `json:"id"`
			} `json:"entry"`
		}
		if json.Unmarshal(b, &ev) != nil || ev.Entry.ID == "" || !strings.HasPrefix(r.Header.Get("Tributary-Signature"), "t=") {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		if byEntry[ev.Entry.ID] == nil {
			byEntry[ev.Entry.ID] = map[string]int{}
		}
		byEntry[ev.Entry.ID][r.Header.Get("Tributary-Delivery")]++
		mu.Unlock()
	}))
	defer hook.Close()

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
	if st, body := api(p, "POST", "/api/v1/sites/"+siteID+"/destinations", `{"type":"webhook","secret":"hook-secret","config":{"url":"`+hook.URL+`"}}`); st != 201 {
		t.Fatalf("create destination: %d %s", st, body)
	}
	const n = 60
	send := func(p *proc, i int) bool {
		payload := fmt.Sprintf(`{"id":"evt_dst_%04d","object":"event","api_version":"2024-06-20","created":%d,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_dst_%04d","object":"charge","amount":%d,"amount_captured":%d,"captured":true,"paid":true,"status":"succeeded","currency":"usd","created":%d}}}`,
			i, time.Now().Unix(), i, 100+i, 100+i, time.Now().Unix())
		req, _ := http.NewRequest("POST", p.url+"/stripe/webhook/"+ep, strings.NewReader(payload))
		req.Header.Set("Stripe-Signature", stripe.SignPayload([]byte(payload), secret, time.Now()))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}
	for i := 0; i < n/2; i++ {
		send(p, i)
	}
	// The first half is processed and its rows settle for a few seconds; kill while the second half
	// streams in and the sender starts on the first.
	time.Sleep(5 * time.Second)
	for i := n / 2; i < n; i++ {
		if i == n/2+10 {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
		send(p, i)
	}
	<-p.done
	p = start(t, env, "serve", "--listen", "127.0.0.1:0")
	for i := 0; i < n; i++ { // Stripe retries
		send(p, i)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := len(byEntry)
		mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // anything sent twice would have arrived by now
	mu.Lock()
	defer mu.Unlock()
	if len(byEntry) != n {
		t.Fatalf("%d payments reached the destination, want %d", len(byEntry), n)
	}
	resent := 0
	for id, ds := range byEntry {
		if len(ds) != 1 {
			t.Errorf("%s arrived under %d delivery ids: %v", id, len(ds), ds)
		}
		for _, c := range ds {
			resent += c - 1
		}
	}
	_, body = api(p, "GET", "/api/v1/sites/"+siteID+"/destinations", "")
	if !strings.Contains(body, fmt.Sprintf(`"sent":%d`, n)) {
		t.Fatalf("destination state: %s", body)
	}
	p.stop(t)
	t.Logf("%d payments delivered once each; %d posts repeated under their delivery id (sent, then killed before recorded)", n, resent)
}
