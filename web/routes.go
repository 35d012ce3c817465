package web

import (
	"net/http"

	"github.com/tributary/tributary/tracker"
)

// routes is the one route table of the server.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.Handle("GET /static/", s.static)

	// Browser ingest and the tracker (CORS-open, no credentials).
	mux.Handle("GET /js/", tracker.Handler())
	mux.HandleFunc("POST /api/event", s.handleEvent)
	mux.HandleFunc("OPTIONS /api/event", s.handleEventPreflight)

	// Management API (admin token or owner session).
	mux.Handle("GET /api/v1/sites", s.owner(s.handleListSites))
	mux.Handle("POST /api/v1/sites", s.owner(s.handleCreateSite))
	mux.Handle("GET /api/v1/sites/{id}", s.owner(s.handleGetSite))
	mux.Handle("PATCH /api/v1/sites/{id}", s.owner(s.handleUpdateSite))
	mux.Handle("DELETE /api/v1/sites/{id}", s.owner(s.handleDeleteSite))
	mux.Handle("GET /api/v1/sites/{id}/api-keys", s.owner(s.handleListAPIKeys))
	mux.Handle("POST /api/v1/sites/{id}/api-keys", s.owner(s.handleCreateAPIKey))
	mux.Handle("DELETE /api/v1/sites/{id}/api-keys/{key}", s.owner(s.handleRevokeAPIKey))
	mux.Handle("GET /api/v1/sites/{id}/stripe-endpoints", s.owner(s.handleListEndpoints))
	mux.Handle("POST /api/v1/sites/{id}/stripe-endpoints", s.owner(s.handleCreateEndpoint))
	mux.Handle("PATCH /api/v1/sites/{id}/stripe-endpoints/{ep}", s.owner(s.handleUpdateEndpoint))
	mux.Handle("DELETE /api/v1/sites/{id}/stripe-endpoints/{ep}", s.owner(s.handleDeleteEndpoint))
	mux.Handle("GET /api/v1/sites/{id}/stripe-accounts", s.owner(s.handleListAccounts))
	mux.Handle("POST /api/v1/sites/{id}/stripe-accounts", s.owner(s.handleConnectAccount))
	mux.Handle("GET /api/v1/sites/{id}/stripe-accounts/{account}", s.owner(s.handleGetAccount))
	mux.Handle("DELETE /api/v1/sites/{id}/stripe-accounts/{account}", s.owner(s.handleDisconnectAccount))
	mux.Handle("POST /api/v1/sites/{id}/stripe-accounts/{account}/import", s.owner(s.handleReimport))
	mux.Handle("GET /api/v1/sites/{id}/destinations", s.owner(s.handleListDestinations))
	mux.Handle("POST /api/v1/sites/{id}/destinations", s.owner(s.handleCreateDestination))
	mux.Handle("GET /api/v1/sites/{id}/destinations/{dest}", s.owner(s.handleGetDestination))
	mux.Handle("PATCH /api/v1/sites/{id}/destinations/{dest}", s.owner(s.handleUpdateDestination))
	mux.Handle("DELETE /api/v1/sites/{id}/destinations/{dest}", s.owner(s.handleDeleteDestination))
	mux.Handle("POST /api/v1/sites/{id}/destinations/{dest}/deliveries/{delivery}/replay", s.owner(s.handleReplayDestinationDelivery))
	mux.Handle("GET /api/v1/sites/{id}/destination-settings", s.owner(s.handleDestinationSettings))
	mux.Handle("PUT /api/v1/sites/{id}/destination-settings", s.owner(s.handleDestinationSettings))
	mux.Handle("GET /api/v1/sites/{id}/webhook-deliveries", s.owner(s.handleListDeliveries))
	mux.Handle("GET /api/v1/sites/{id}/webhook-deliveries/{delivery}", s.owner(s.handleGetDelivery))
	mux.Handle("POST /api/v1/sites/{id}/webhook-deliveries/{delivery}/replay", s.owner(s.handleReplayDelivery))
	mux.Handle("POST /api/v1/sites/{id}/webhook-deliveries/replay-failed", s.owner(s.handleReplayFailed))
	mux.Handle("GET /api/v1/sites/{id}/revenue-events", s.owner(s.handleListRevenueEvents))
	mux.Handle("POST /api/v1/sites/{id}/revenue-events", s.owner(s.handlePutRevenueEvent))
	mux.Handle("DELETE /api/v1/sites/{id}/revenue-events/{name}", s.owner(s.handleDeleteRevenueEvent))
	mux.Handle("GET /api/v1/sites/{id}/referrer-exclusions", s.owner(s.handleGetExclusions))
	mux.Handle("PUT /api/v1/sites/{id}/referrer-exclusions", s.owner(s.handlePutExclusions))
	mux.Handle("GET /api/v1/sites/{id}/events", s.owner(s.handleCatalog))
	mux.Handle("PUT /api/v1/sites/{id}/events/{name}", s.owner(s.handleSetKind))

	mux.Handle("GET /api/v1/exchange-rates", s.owner(s.handleListRates))
	mux.Handle("POST /api/v1/exchange-rates", s.owner(s.handleImportRates))

	mux.Handle("POST /api/v1/query", s.api(s.handleQuery))
	mux.Handle("GET /api/v1/sites/{id}/customers", s.api(s.handleListCustomers))
	mux.Handle("GET /api/v1/sites/{id}/customers/{customer}", s.api(s.handleGetCustomer))

	// Server-to-server events (API key with events:write).
	mux.Handle("POST /api/v1/events", s.api(s.handleServerEvent))
	mux.Handle("POST /api/v1/events/batch", s.api(s.handleServerEventBatch))
	mux.Handle("/api/", http.HandlerFunc(s.handleAPINotFound))

	// Stripe webhooks (authenticated by signature).
	mux.HandleFunc("POST /stripe/webhook/{endpoint}", s.handleStripeWebhook)

	// Web UI.
	mux.Handle("GET /{$}", s.ui(s.pageHome))
	mux.Handle("GET /setup", s.ui(s.pageSetup))
	mux.Handle("POST /setup", s.ui(s.postSetup))
	mux.Handle("GET /login", s.ui(s.pageLogin))
	mux.Handle("POST /login", s.ui(s.postLogin))
	mux.Handle("POST /logout", s.ui(s.postLogout))
	mux.Handle("GET /sites", s.ui(s.requireLogin(s.pageSites)))
	mux.Handle("POST /sites", s.ui(s.requireLogin(s.postSite)))
	mux.Handle("GET /sites/{id}", s.ui(s.requireLogin(s.pageDashboard)))
	mux.Handle("GET /account", s.ui(s.requireLogin(s.pageAccount)))
	mux.Handle("POST /account/password", s.ui(s.requireLogin(s.postPassword)))
	mux.Handle("GET /sites/{id}/revenue", s.ui(s.requireLogin(s.pageRevenue)))
	mux.Handle("GET /sites/{id}/customers", s.ui(s.requireLogin(s.pageCustomers)))
	mux.Handle("GET /sites/{id}/customers/{customer}", s.ui(s.requireLogin(s.pageCustomer)))
	mux.Handle("GET /sites/{id}/export", s.ui(s.requireLogin(s.handleExport)))
	mux.Handle("GET /sites/{id}/settings", s.ui(s.requireLogin(s.pageSiteSettings)))
	mux.Handle("POST /sites/{id}/settings", s.ui(s.requireLogin(s.postSiteSettings)))
	mux.Handle("POST /sites/{id}/delete", s.ui(s.requireLogin(s.postSiteDelete)))
	mux.Handle("GET /sites/{id}/destinations", s.ui(s.requireLogin(s.pageDestinations)))
	mux.Handle("POST /sites/{id}/destinations", s.ui(s.requireLogin(s.postDestination)))
	mux.Handle("POST /sites/{id}/destinations/consent", s.ui(s.requireLogin(s.postDestinationConsent)))
	mux.Handle("POST /sites/{id}/destinations/{dest}/delete", s.ui(s.requireLogin(s.postDestinationDelete)))
	mux.Handle("POST /sites/{id}/destinations/{dest}/deliveries/{delivery}/replay", s.ui(s.requireLogin(s.postDestinationReplay)))
	mux.Handle("POST /sites/{id}/api-keys", s.ui(s.requireLogin(s.postAPIKey)))
	mux.Handle("POST /sites/{id}/api-keys/{key}/revoke", s.ui(s.requireLogin(s.postAPIKeyRevoke)))
	mux.Handle("POST /sites/{id}/revenue-events", s.ui(s.requireLogin(s.postRevenueEvent)))
	mux.Handle("POST /sites/{id}/revenue-events/{name}/delete", s.ui(s.requireLogin(s.postRevenueEventDelete)))
	mux.Handle("POST /sites/{id}/events/{name}/kind", s.ui(s.requireLogin(s.postEventKind)))
	mux.Handle("POST /sites/{id}/exchange-rates", s.ui(s.requireLogin(s.postRates)))
	mux.Handle("GET /sites/{id}/stripe", s.ui(s.requireLogin(s.pageStripe)))
	mux.Handle("POST /sites/{id}/stripe/endpoints", s.ui(s.requireLogin(s.postStripeEndpoint)))
	mux.Handle("POST /sites/{id}/stripe/accounts", s.ui(s.requireLogin(s.postStripeConnect)))
	mux.Handle("POST /sites/{id}/stripe/accounts/{account}/import", s.ui(s.requireLogin(s.postStripeReimport)))
	mux.Handle("POST /sites/{id}/stripe/accounts/{account}/disconnect", s.ui(s.requireLogin(s.postStripeDisconnect)))
	mux.Handle("POST /sites/{id}/stripe/endpoints/{ep}/secret", s.ui(s.requireLogin(s.postStripeRotate)))
	mux.Handle("POST /sites/{id}/stripe/endpoints/{ep}/delete", s.ui(s.requireLogin(s.postStripeDelete)))
	mux.Handle("POST /sites/{id}/deliveries/{delivery}/replay", s.ui(s.requireLogin(s.postReplay)))
	mux.Handle("POST /sites/{id}/deliveries/replay-failed", s.ui(s.requireLogin(s.postReplayFailed)))
	return mux
}
