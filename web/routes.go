package web

import (
	"net/http"

	"github.com/tributary/tributary/tracker"
)

// routes is the one route table of the server, assembling the handlers of every audience.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Each audience's handlers: c what browsers, backends and Stripe send in, a the JSON API, u the pages.
	c, a, u := s.Collector, s.UI.API, s.UI

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.Handle("GET /static/", u.Static)

	// Browser ingest and the tracker (CORS-open, no credentials).
	mux.Handle("GET /js/", tracker.Handler())
	mux.HandleFunc("POST /api/event", c.HandleEvent)
	mux.HandleFunc("OPTIONS /api/event", c.HandleEventPreflight)

	// Management API (admin token or owner session).
	mux.Handle("GET /api/v1/sites", s.Owner(a.HandleListSites))
	mux.Handle("POST /api/v1/sites", s.Owner(a.HandleCreateSite))
	mux.Handle("GET /api/v1/sites/{id}", s.Owner(a.HandleGetSite))
	mux.Handle("PATCH /api/v1/sites/{id}", s.Owner(a.HandleUpdateSite))
	mux.Handle("DELETE /api/v1/sites/{id}", s.Owner(a.HandleDeleteSite))
	mux.Handle("GET /api/v1/sites/{id}/api-keys", s.Owner(a.HandleListAPIKeys))
	mux.Handle("POST /api/v1/sites/{id}/api-keys", s.Owner(a.HandleCreateAPIKey))
	mux.Handle("DELETE /api/v1/sites/{id}/api-keys/{key}", s.Owner(a.HandleRevokeAPIKey))
	mux.Handle("GET /api/v1/sites/{id}/stripe-endpoints", s.Owner(a.HandleListEndpoints))
	mux.Handle("POST /api/v1/sites/{id}/stripe-endpoints", s.Owner(a.HandleCreateEndpoint))
	mux.Handle("PATCH /api/v1/sites/{id}/stripe-endpoints/{ep}", s.Owner(a.HandleUpdateEndpoint))
	mux.Handle("DELETE /api/v1/sites/{id}/stripe-endpoints/{ep}", s.Owner(a.HandleDeleteEndpoint))
	mux.Handle("GET /api/v1/sites/{id}/stripe-accounts", s.Owner(a.HandleListAccounts))
	mux.Handle("POST /api/v1/sites/{id}/stripe-accounts", s.Owner(a.HandleConnectAccount))
	mux.Handle("GET /api/v1/sites/{id}/stripe-accounts/{account}", s.Owner(a.HandleGetAccount))
	mux.Handle("DELETE /api/v1/sites/{id}/stripe-accounts/{account}", s.Owner(a.HandleDisconnectAccount))
	mux.Handle("POST /api/v1/sites/{id}/stripe-accounts/{account}/import", s.Owner(a.HandleReimport))
	mux.Handle("GET /api/v1/sites/{id}/destinations", s.Owner(a.HandleListDestinations))
	mux.Handle("POST /api/v1/sites/{id}/destinations", s.Owner(a.HandleCreateDestination))
	mux.Handle("GET /api/v1/sites/{id}/destinations/{dest}", s.Owner(a.HandleGetDestination))
	mux.Handle("PATCH /api/v1/sites/{id}/destinations/{dest}", s.Owner(a.HandleUpdateDestination))
	mux.Handle("DELETE /api/v1/sites/{id}/destinations/{dest}", s.Owner(a.HandleDeleteDestination))
	mux.Handle("POST /api/v1/sites/{id}/destinations/{dest}/deliveries/{delivery}/replay", s.Owner(a.HandleReplayDestinationDelivery))
	mux.Handle("GET /api/v1/sites/{id}/destination-settings", s.Owner(a.HandleDestinationSettings))
	mux.Handle("PUT /api/v1/sites/{id}/destination-settings", s.Owner(a.HandleDestinationSettings))
	mux.Handle("GET /api/v1/sites/{id}/webhook-deliveries", s.Owner(a.HandleListDeliveries))
	mux.Handle("GET /api/v1/sites/{id}/webhook-deliveries/{delivery}", s.Owner(a.HandleGetDelivery))
	mux.Handle("POST /api/v1/sites/{id}/webhook-deliveries/{delivery}/replay", s.Owner(a.HandleReplayDelivery))
	mux.Handle("POST /api/v1/sites/{id}/webhook-deliveries/replay-failed", s.Owner(a.HandleReplayFailed))
	mux.Handle("GET /api/v1/sites/{id}/revenue-events", s.Owner(a.HandleListRevenueEvents))
	mux.Handle("POST /api/v1/sites/{id}/revenue-events", s.Owner(a.HandlePutRevenueEvent))
	mux.Handle("DELETE /api/v1/sites/{id}/revenue-events/{name}", s.Owner(a.HandleDeleteRevenueEvent))
	mux.Handle("GET /api/v1/sites/{id}/referrer-exclusions", s.Owner(a.HandleGetExclusions))
	mux.Handle("PUT /api/v1/sites/{id}/referrer-exclusions", s.Owner(a.HandlePutExclusions))
	mux.Handle("GET /api/v1/sites/{id}/events", s.Owner(a.HandleCatalog))
	mux.Handle("PUT /api/v1/sites/{id}/events/{name}", s.Owner(a.HandleSetKind))

	mux.Handle("GET /api/v1/exchange-rates", s.Owner(a.HandleListRates))
	mux.Handle("POST /api/v1/exchange-rates", s.Owner(a.HandleImportRates))

	mux.Handle("POST /api/v1/query", s.APIAuth(a.HandleQuery))
	mux.Handle("GET /api/v1/sites/{id}/customers", s.APIAuth(a.HandleListCustomers))
	mux.Handle("GET /api/v1/sites/{id}/customers/{customer}", s.APIAuth(a.HandleGetCustomer))

	// Server-to-server events (API key with events:write).
	mux.Handle("POST /api/v1/events", s.APIAuth(c.HandleServerEvent))
	mux.Handle("POST /api/v1/events/batch", s.APIAuth(c.HandleServerEventBatch))
	mux.Handle("/api/", http.HandlerFunc(s.HandleAPINotFound))

	// Stripe webhooks (authenticated by signature).
	mux.HandleFunc("POST /stripe/webhook/{endpoint}", c.HandleStripeWebhook)

	// Web UI.
	mux.Handle("GET /{$}", u.Page(u.PageHome))
	mux.Handle("GET /setup", u.Page(u.PageSetup))
	mux.Handle("POST /setup", u.Page(u.PostSetup))
	mux.Handle("GET /login", u.Page(u.PageLogin))
	mux.Handle("POST /login", u.Page(u.PostLogin))
	mux.Handle("POST /logout", u.Page(u.PostLogout))
	mux.Handle("GET /sites", u.Page(u.RequireLogin(u.PageSites)))
	mux.Handle("POST /sites", u.Page(u.RequireLogin(u.PostSite)))
	mux.Handle("GET /sites/{id}", u.Page(u.RequireLogin(u.PageDashboard)))
	mux.Handle("GET /account", u.Page(u.RequireLogin(u.PageAccount)))
	mux.Handle("POST /account/password", u.Page(u.RequireLogin(u.PostPassword)))
	mux.Handle("GET /sites/{id}/revenue", u.Page(u.RequireLogin(u.PageRevenue)))
	mux.Handle("GET /sites/{id}/customers", u.Page(u.RequireLogin(u.PageCustomers)))
	mux.Handle("GET /sites/{id}/customers/{customer}", u.Page(u.RequireLogin(u.PageCustomer)))
	mux.Handle("GET /sites/{id}/export", u.Page(u.RequireLogin(u.HandleExport)))
	mux.Handle("GET /sites/{id}/settings", u.Page(u.RequireLogin(u.PageSiteSettings)))
	mux.Handle("POST /sites/{id}/settings", u.Page(u.RequireLogin(u.PostSiteSettings)))
	mux.Handle("POST /sites/{id}/delete", u.Page(u.RequireLogin(u.PostSiteDelete)))
	mux.Handle("GET /sites/{id}/destinations", u.Page(u.RequireLogin(u.PageDestinations)))
	mux.Handle("POST /sites/{id}/destinations", u.Page(u.RequireLogin(u.PostDestination)))
	mux.Handle("POST /sites/{id}/destinations/consent", u.Page(u.RequireLogin(u.PostDestinationConsent)))
	mux.Handle("POST /sites/{id}/destinations/{dest}/delete", u.Page(u.RequireLogin(u.PostDestinationDelete)))
	mux.Handle("POST /sites/{id}/destinations/{dest}/deliveries/{delivery}/replay", u.Page(u.RequireLogin(u.PostDestinationReplay)))
	mux.Handle("POST /sites/{id}/api-keys", u.Page(u.RequireLogin(u.PostAPIKey)))
	mux.Handle("POST /sites/{id}/api-keys/{key}/revoke", u.Page(u.RequireLogin(u.PostAPIKeyRevoke)))
	mux.Handle("POST /sites/{id}/revenue-events", u.Page(u.RequireLogin(u.PostRevenueEvent)))
	mux.Handle("POST /sites/{id}/revenue-events/{name}/delete", u.Page(u.RequireLogin(u.PostRevenueEventDelete)))
	mux.Handle("POST /sites/{id}/events/{name}/kind", u.Page(u.RequireLogin(u.PostEventKind)))
	mux.Handle("POST /sites/{id}/exchange-rates", u.Page(u.RequireLogin(u.PostRates)))
	mux.Handle("GET /sites/{id}/stripe", u.Page(u.RequireLogin(u.PageStripe)))
	mux.Handle("POST /sites/{id}/stripe/endpoints", u.Page(u.RequireLogin(u.PostStripeEndpoint)))
	mux.Handle("POST /sites/{id}/stripe/accounts", u.Page(u.RequireLogin(u.PostStripeConnect)))
	mux.Handle("POST /sites/{id}/stripe/accounts/{account}/import", u.Page(u.RequireLogin(u.PostStripeReimport)))
	mux.Handle("POST /sites/{id}/stripe/accounts/{account}/disconnect", u.Page(u.RequireLogin(u.PostStripeDisconnect)))
	mux.Handle("POST /sites/{id}/stripe/endpoints/{ep}/secret", u.Page(u.RequireLogin(u.PostStripeRotate)))
	mux.Handle("POST /sites/{id}/stripe/endpoints/{ep}/delete", u.Page(u.RequireLogin(u.PostStripeDelete)))
	mux.Handle("POST /sites/{id}/deliveries/{delivery}/replay", u.Page(u.RequireLogin(u.PostReplay)))
	mux.Handle("POST /sites/{id}/deliveries/replay-failed", u.Page(u.RequireLogin(u.PostReplayFailed)))
	return mux
}
