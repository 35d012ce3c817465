package metrics

import (
	"fmt"
	"io"
)

// GaugeRow is one labelled value of a GaugeVecFunc.
type GaugeRow struct {
	Labels []string
	Value  float64
}

type gaugeVecFunc struct {
	help   string
	labels []string
	fn     func() []GaugeRow
}

// GaugeVecFunc registers a gauge family whose labelled values fn returns at scrape time (the outbox's
// pending rows per destination).
func (r *Registry) GaugeVecFunc(name, help string, fn func() []GaugeRow, labels ...string) {
	r.register(name, &gaugeVecFunc{help: help, labels: labels, fn: fn})
}

func (g *gaugeVecFunc) write(w io.Writer, name string) error {
	if err := header(w, name, g.help, "gauge"); err != nil {
		return err
	}
	for _, row := range g.fn() {
		if _, err := fmt.Fprintf(w, "%s%s %s\n", name, labelString(g.labels, row.Labels), formatFloat(row.Value)); err != nil {
			return err
		}
	}
	return nil
}

// Destinations registers the destinations' counters and the outbox gauge: conversions sent and failed
// per destination (counted by the sender of this process), and rows pending per destination (read from
// the store when scraped, so every node reports the shared outbox).
func (s *Set) Destinations(pending func() []GaugeRow) (sent, failed *CounterVec) {
	sent = s.Registry.Counter("tributary_destination_sent_total", "Outbox rows delivered to a destination (accepted by the platform).", "destination", "type")
	failed = s.Registry.Counter("tributary_destination_failed_total", "Outbox rows given up on (refused for good or retried past three days).", "destination", "type")
	s.Registry.GaugeVecFunc("tributary_destination_pending", "Outbox rows waiting to be sent, per destination.", pending, "destination", "type")
	return sent, failed
}
