// Package collect is what the outside sends in: browser events (POST /api/event, CORS-open), the
// server-to-server events API and Stripe's webhooks. Each handler answers fast and hands the input to
// its service (ingest, s2s, the inbox).
package collect

import "github.com/tributary/tributary/web/core"

// Collector holds the intake handlers over the shared core.
type Collector struct {
	*core.Server
}
