package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Stored is what the server wrote to its store during a run, read from its /metrics (which answers
// loopback clients, and others that send the admin token). A run's request rate counts the events the server accepted, and at full speed the
// server's buffer still holds tens of thousands of them when the run ends, so the rate says more
// about the buffer than about the store; Rate is the events stored from the run's start until the
// buffer had drained, over that time.
type Stored struct {
	Events  int64   `json:"events"`  // browser events written to the store, by every sender
	Seconds float64 `json:"seconds"` // from the run's start to the drain (or to giving up)
	Rate    float64 `json:"rate"`    // Events / Seconds
	// Drained is false when the buffer still held events after DrainWait: Events is then a floor.
	Drained bool  `json:"drained"`
	Held    int64 `json:"held"` // events the buffer still held at the end (0 once drained)
}

// Gauges from the server's /metrics (metrics/set.go).
const (
	gaugeStored = "tributary_ingest_stored_events"
	gaugeHeld   = "tributary_ingest_buffer_events"
)

// DrainWait bounds how long MeasureStored waits for the server's buffer to drain after a run.
const DrainWait = 2 * time.Minute

// ingestGauges reads the stored and held event counts from the server's /metrics.
func (d *Driver) ingestGauges(ctx context.Context, token string) (stored, held int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base.String()+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read /metrics: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("read /metrics: %s (it answers loopback clients and --admin-token; --drain-wait 0 skips this)", res.Status)
	}
	found := map[string]int64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != gaugeStored && name != gaugeHeld) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read /metrics: %s: %w", name, err)
		}
		found[name] = int64(v)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read /metrics: %w", err)
	}
	for _, g := range []string{gaugeStored, gaugeHeld} {
		if _, ok := found[g]; !ok {
			return 0, 0, fmt.Errorf("read /metrics: no %s (not a Tributary server?)", g)
		}
	}
	return found[gaugeStored], found[gaugeHeld], nil
}

// StoredBefore reads the server's stored count before a run, for MeasureStored.
func (d *Driver) StoredBefore(ctx context.Context, token string) (int64, error) {
	stored, _, err := d.ingestGauges(ctx, token)
	return stored, err
}

// MeasureStored waits (polling every poll, at most wait) until the server's buffer is empty, and
// reports the events stored since before (StoredBefore's count) over the time since began. The count
// is the server's, so other senders' events are in it too.
func (d *Driver) MeasureStored(ctx context.Context, token string, before int64, began time.Time, poll, wait time.Duration) (*Stored, error) {
	deadline := time.Now().Add(wait)
	for {
		stored, held, err := d.ingestGauges(ctx, token)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if held == 0 || !now.Before(deadline) {
			s := &Stored{Events: stored - before, Seconds: now.Sub(began).Seconds(), Drained: held == 0, Held: held}
			if s.Seconds > 0 {
				s.Rate = float64(s.Events) / s.Seconds
			}
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}
