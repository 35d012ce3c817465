package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stripe"
	"github.com/tributary/tributary/web/api"
)

// stripeEvents are the event types to select in Stripe's dashboard.
var stripeEvents = []string{
	"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed", "checkout.session.expired",
	"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing", "payment_intent.requires_action", "payment_intent.created",
	"charge.succeeded", "charge.captured", "charge.failed", "charge.refunded", "charge.updated",
	"refund.created", "refund.updated", "refund.failed", "charge.refund.updated",
	"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
	"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "invoice_payment.paid",
	"customer.created", "customer.updated", "customer.deleted",
	"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted", "customer.subscription.paused",
	"customer.subscription.resumed", "customer.subscription.trial_will_end",
}

// snippet is one language's way to put the tracker's ids into Stripe metadata.
type snippet struct{ Lang, Code string }

var stripeSnippets = []snippet{
	{"Node", `const session = await stripe.checkout.sessions.create({
  mode: "payment", line_items, success_url,
  metadata: { tributary_visitor_id: req.cookies.trib_vid, tributary_session_id: req.cookies.trib_sid },
  payment_intent_data: { metadata: { tributary_visitor_id: req.cookies.trib_vid } },
  // mode "subscription": subscription_data: { metadata: { tributary_visitor_id: req.cookies.trib_vid } },
});`},
	{"Python", `session = stripe.checkout.Session.create(
    mode="payment", line_items=line_items, success_url=success_url,
    metadata={"tributary_visitor_id": request.cookies.get("trib_vid"), "tributary_session_id": request.cookies.get("trib_sid")},
    payment_intent_data={"metadata": {"tributary_visitor_id": request.cookies.get("trib_vid")}},
)`},
	{"Go", `vid, _ := r.Cookie("trib_vid")
params := &stripe.CheckoutSessionParams{
	Mode: stripe.String(string(stripe.CheckoutSessionModeSubscription)), LineItems: items, SuccessURL: stripe.String(successURL),
	SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"tributary_visitor_id": vid.Value}},
}
params.AddMetadata("tributary_visitor_id", vid.Value)`},
	{"PHP", `$session = $stripe->checkout->sessions->create([
  'mode' => 'payment', 'line_items' => $lineItems, 'success_url' => $successUrl,
  'metadata' => ['tributary_visitor_id' => $_COOKIE['trib_vid'] ?? '', 'tributary_session_id' => $_COOKIE['trib_sid'] ?? ''],
  'payment_intent_data' => ['metadata' => ['tributary_visitor_id' => $_COOKIE['trib_vid'] ?? '']],
]);`},
	{"Ruby", `session = Stripe::Checkout::Session.create(
  mode: "subscription", line_items: line_items, success_url: success_url,
  metadata: { tributary_visitor_id: cookies[:trib_vid], tributary_session_id: cookies[:trib_sid] },
  subscription_data: { metadata: { tributary_visitor_id: cookies[:trib_vid] } },
)`},
}

type stripeView struct {
	Site       *tributary.Site
	Endpoints  []api.EndpointView
	Events     string
	Snippets   []snippet
	Deliveries []*tributary.Delivery
	Filter     tributary.DeliveryFilter
	Statuses   []string
	Notice     string
	// Backlog is what the inbox has acknowledged but not yet processed; BacklogAge the oldest's age.
	Backlog    tributary.InboxBacklog
	BacklogAge string
	// Accounts are the Stripe accounts connected with a key; Permissions what the key needs.
	Accounts    []api.AccountView
	Permissions []string
}

func (s *UI) stripeView(r *http.Request, siteID string) (*stripeView, error) {
	st, err := s.Opt.Sites.Site(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	eps, err := s.Opt.Meta.StripeEndpoints(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	v := &stripeView{Site: st, Events: strings.Join(stripeEvents, "\n"), Snippets: stripeSnippets, Statuses: api.DeliveryStatuses}
	for _, e := range eps {
		v.Endpoints = append(v.Endpoints, s.ViewEndpoint(r, e))
	}
	q := r.URL.Query()
	v.Filter = tributary.DeliveryFilter{SiteID: siteID, Status: q.Get("status"), Type: strings.TrimSpace(q.Get("type")), Limit: 100}
	if v.Filter.Status != "" && !slices.Contains(api.DeliveryStatuses, v.Filter.Status) {
		v.Filter.Status = ""
	}
	v.Deliveries, err = s.Opt.Meta.Deliveries(r.Context(), v.Filter)
	if err != nil {
		return nil, err
	}
	if v.Backlog, err = s.Opt.Meta.InboxBacklog(r.Context(), siteID); err != nil {
		return nil, err
	}
	v.Permissions = stripe.Permissions
	if s.Opt.Stripe != nil {
		as, err := s.Opt.Stripe.Accounts(r.Context(), siteID)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			v.Accounts = append(v.Accounts, api.ViewAccount(a))
		}
	}
	if v.Backlog.Waiting > 0 && !v.Backlog.Oldest.IsZero() {
		v.BacklogAge = max(0, s.Opt.Now().Sub(v.Backlog.Oldest)).Round(time.Second).String()
	}
	return v, nil
}

// PageStripe answers GET /sites/{id}/stripe.
func (s *UI) PageStripe(w http.ResponseWriter, r *http.Request) error {
	v, err := s.stripeView(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Notice = r.URL.Query().Get("notice")
	return s.render(w, r, http.StatusOK, "stripe.html", page{Title: v.Site.Name + " · Stripe", Data: v})
}

func (s *UI) renderStripeError(w http.ResponseWriter, r *http.Request, siteID string, err error) error {
	if tributary.ErrorCode(err) != tributary.EINVALID {
		return err
	}
	v, verr := s.stripeView(r, siteID)
	if verr != nil {
		return verr
	}
	return s.render(w, r, http.StatusBadRequest, "stripe.html", page{Title: v.Site.Name + " · Stripe", Error: tributary.ErrorMessage(err), Data: v})
}

// PostStripeEndpoint answers POST /sites/{id}/stripe/endpoints.
func (s *UI) PostStripeEndpoint(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.CreateEndpoint(r, id, api.EndpointInput{Mode: r.PostFormValue("mode"), SigningSecret: strings.TrimSpace(r.PostFormValue("signing_secret"))}); err != nil {
		return s.renderStripeError(w, r, id, err)
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=endpoint+created", http.StatusSeeOther)
	return nil
}

// PostStripeConnect answers POST /sites/{id}/stripe/accounts.
func (s *UI) PostStripeConnect(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	site, err := s.Opt.Sites.Site(r.Context(), id)
	if err != nil {
		return err
	}
	months, err := strconv.Atoi(r.PostFormValue("import_months"))
	if err != nil {
		months = 12
	}
	a, err := sy.Connect(r.Context(), site, r.PostFormValue("key"), months, s.BaseURL(r))
	if err != nil {
		return s.renderStripeError(w, r, id, err)
	}
	sy.Wake()
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice="+url.QueryEscape("Stripe account "+a.ID+" connected, importing its history")+"#connect", http.StatusSeeOther)
	return nil
}

// PostStripeReimport answers POST /sites/{id}/stripe/accounts/{account}/import.
func (s *UI) PostStripeReimport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	months, err := strconv.Atoi(r.PostFormValue("import_months"))
	if err != nil {
		months = 12
	}
	if _, err := sy.Reimport(r.Context(), id, r.PathValue("account"), months); err != nil {
		return s.renderStripeError(w, r, id, err)
	}
	sy.Wake()
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=import+started#connect", http.StatusSeeOther)
	return nil
}

// PostStripeDisconnect answers POST /sites/{id}/stripe/accounts/{account}/disconnect.
func (s *UI) PostStripeDisconnect(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sy, err := s.Syncer()
	if err != nil {
		return err
	}
	if _, err := sy.Disconnect(r.Context(), id, r.PathValue("account")); err != nil {
		return s.renderStripeError(w, r, id, err)
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=disconnected,+its+data+stays#connect", http.StatusSeeOther)
	return nil
}

// PostStripeRotate answers POST /sites/{id}/stripe/endpoints/{ep}/secret.
func (s *UI) PostStripeRotate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	keep := r.PostFormValue("keep_previous") == "on"
	if _, err := s.RotateSecret(r, id, r.PathValue("ep"), api.EndpointInput{SigningSecret: strings.TrimSpace(r.PostFormValue("signing_secret")), KeepPrevious: &keep}); err != nil {
		return s.renderStripeError(w, r, id, err)
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=secret+updated", http.StatusSeeOther)
	return nil
}

// PostStripeDelete answers POST /sites/{id}/stripe/endpoints/{ep}/delete.
func (s *UI) PostStripeDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Opt.Meta.DeleteStripeEndpoint(r.Context(), id, r.PathValue("ep")); err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=endpoint+deleted", http.StatusSeeOther)
	return nil
}

// PostReplay answers POST /sites/{id}/deliveries/{delivery}/replay.
func (s *UI) PostReplay(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Opt.Intake.Replay(r.Context(), id, r.PathValue("delivery")); err != nil {
		if tributary.ErrorCode(err) == tributary.ECONFLICT {
			return s.renderStripeError(w, r, id, &tributary.Error{Code: tributary.EINVALID, Message: tributary.ErrorMessage(err)})
		}
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice=delivery+queued+for+replay#deliveries", http.StatusSeeOther)
	return nil
}

// PostReplayFailed answers POST /sites/{id}/deliveries/replay-failed.
func (s *UI) PostReplayFailed(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	n, err := s.Opt.Intake.ReplayFailed(r.Context(), id)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/sites/"+id+"/stripe?notice="+formatCount(n)+"+failed+deliveries+queued+for+replay#deliveries", http.StatusSeeOther)
	return nil
}

func formatCount(n int) string {
	if n == 0 {
		return "no"
	}
	return strconv.Itoa(n)
}
