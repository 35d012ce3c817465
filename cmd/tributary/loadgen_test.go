package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/loadgen"
)

// TestLoadgenReportsWhatTheServerStored runs the load generator against a real server and checks its
// stored count against the scenario it sent: every browser event the server accepted and did not drop
// is stored once the buffer drains, and identify calls (identities) are not counted as events.
func TestLoadgenReportsWhatTheServerStored(t *testing.T) {
	token := "integration-admin-token-0123"
	p := start(t, []string{"TRIBUTARY_ADMIN_TOKEN=" + token, "TRIBUTARY_DATA_DIR=" + t.TempDir()}, "serve", "--listen", "127.0.0.1:0",
		"--trusted-proxies", "127.0.0.1")
	const now, pageviews = "2026-12-01T00:00:00Z", "800"
	out, err := exec.Command(binPath, "loadgen", "--url", p.url, "--setup", "--admin-token", token, "--kinds", "event", "--xff",
		"--now", now, "--pageviews", pageviews, "--seed", "7", "--concurrency", "8", "--json").Output()
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}

	opt := loadgen.DefaultOptions()
	opt.Now, _ = time.Parse(time.RFC3339, now)
	opt.Pageviews, opt.Seed = 800, 7
	opt.APIShare = 0 // as loadgen sends without an API key
	sc, err := loadgen.Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	events, identifies := 0, 0
	for r := range sc.Requests(loadgen.Target{SiteID: "s"}) {
		var body struct{ Name string }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Name == "identify" {
			identifies++
		} else {
			events++
		}
	}
	dropped := int64(0)
	for _, n := range rep.Dropped {
		dropped += n
	}
	if rep.Requests != int64(events+identifies) || rep.Status["202"] != rep.Requests {
		t.Fatalf("sent %d requests (%v), the scenario has %d", rep.Requests, rep.Status, events+identifies)
	}
	if identifies == 0 {
		t.Fatal("the scenario has no identify calls: the test no longer checks that they are not counted")
	}
	st := rep.Stored
	if st == nil || !st.Drained || st.Events != int64(events)-dropped || st.Rate <= 0 {
		t.Fatalf("stored %+v; want %d events (%d sent, %d dropped: %v), drained", st, int64(events)-dropped, events, dropped, rep.Dropped)
	}

	// --drain-wait 0 leaves the stored rate out.
	text, err := exec.Command(binPath, "loadgen", "--url", p.url, "--site", "any", "--kinds", "event", "--count", "1", "--drain-wait", "0").CombinedOutput()
	if err != nil || strings.Contains(string(text), "stored") {
		t.Fatalf("loadgen --drain-wait 0: %v\n%s", err, text)
	}
}
