package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestStoredRate checks the stored count the report takes from the server's /metrics: the events
// stored since the run began, once the buffer has drained, or a floor and what is still held when it
// does not drain in time; and a run that goes on, with a note, when /metrics does not answer.
func TestStoredRate(t *testing.T) {
	tests := []struct {
		name     string
		metrics  func(sent int64) (int, string)
		wantNote string
		want     *Stored // Seconds and Rate are checked for being positive
	}{
		{"drained", func(sent int64) (int, string) {
			return 200, fmt.Sprintf("# HELP x\ntributary_ingest_stored_events %d\ntributary_ingest_buffer_events 0\n", 1000+sent)
		}, "", &Stored{Events: 40, Drained: true}},
		{"still held", func(sent int64) (int, string) {
			return 200, fmt.Sprintf("tributary_ingest_stored_events %d\ntributary_ingest_buffer_events 7\n", 1000+sent/2)
		}, "", &Stored{Events: 20, Drained: false, Held: 7}},
		{"no metrics", func(int64) (int, string) { return 404, "not found" }, "the stored rate is not measured: read /metrics: 404 Not Found", nil},
		{"not tributary", func(int64) (int, string) { return 200, "up 1\n" }, "no tributary_ingest_stored_events", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/metrics" {
					code, body := tc.metrics(sent.Load())
					w.WriteHeader(code)
					w.Write([]byte(body))
					return
				}
				sent.Add(1)
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			var out, errOut bytes.Buffer
			code := Main(context.Background(), []string{"--url", srv.URL, "--site", "s", "--kinds", "event", "--count", "40",
				"--concurrency", "4", "--drain-wait", "300ms", "--json"}, &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var rep Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if tc.wantNote != "" && !strings.Contains(errOut.String(), tc.wantNote) {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.wantNote)
			}
			got := rep.Stored
			if tc.want == nil {
				if got != nil {
					t.Fatalf("stored %+v, want none", got)
				}
				return
			}
			if got == nil || got.Events != tc.want.Events || got.Drained != tc.want.Drained || got.Held != tc.want.Held || got.Seconds <= 0 || got.Rate <= 0 {
				t.Fatalf("stored %+v, want %+v", got, tc.want)
			}
		})
	}
}
