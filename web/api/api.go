// Package api is the JSON API of the owner and of query clients: sites, API keys, Stripe endpoints and
// accounts, deliveries, destinations, revenue events, referrer exclusions, exchange rates, the query
// API and customers. Its operations (creating a site, rotating a secret, …) are also what the UI's
// forms call.
package api

import "github.com/tributary/tributary/web/core"

// API holds the JSON API's handlers over the shared core.
type API struct {
	*core.Server
}
