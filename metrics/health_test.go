package metrics

import (
	"strings"
	"testing"
	"time"
)

// TestHealthGauges pins the families that make a stuck writer and the webhook backlog visible.
func TestHealthGauges(t *testing.T) {
	tests := []struct {
		name    string
		stuck   bool
		failing time.Duration
		waiting int64
		oldest  time.Duration
		want    []string
	}{
		{"healthy", false, 0, 0, 0, []string{"tributary_ingest_writer_stuck 0", "tributary_ingest_writer_failing_seconds 0",
			"tributary_webhook_backlog_deliveries 0", "tributary_webhook_backlog_oldest_seconds 0"}},
		{"stuck with a backlog", true, 45 * time.Second, 26832, 90 * time.Second, []string{"tributary_ingest_writer_stuck 1",
			"tributary_ingest_writer_failing_seconds 45", "tributary_webhook_backlog_deliveries 26832", "tributary_webhook_backlog_oldest_seconds 90"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSet()
			s.WriterHealth(func() (bool, time.Duration) { return tc.stuck, tc.failing })
			s.InboxGauges(func() (int64, time.Duration) { return tc.waiting, tc.oldest })
			s.IngestWriteDropped.Inc("store_invalid")
			var b strings.Builder
			if err := s.Registry.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, line := range append(tc.want, `tributary_ingest_write_dropped_total{reason="store_invalid"} 1`) {
				if !strings.Contains(b.String(), line+"\n") {
					t.Errorf("missing %q in:\n%s", line, b.String())
				}
			}
		})
	}
}
