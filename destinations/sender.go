package destinations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/people"
	"github.com/tributary/tributary/secretbox"
)

// Retry schedule: the n-th failed attempt waits Backoff·2^(n−1), at most MaxBackoff; after MaxAttempts
// attempts (about three days with the defaults) the row fails for good (replayable).
const (
	Backoff     = 30 * time.Second
	MaxBackoff  = 6 * time.Hour
	MaxAttempts = 22
	// Lease is how long a claimed row is hidden from other senders.
	Lease = 2 * time.Minute
	// LinkWait is how long a payment's row waits for its ledger entry and link before it is decided
	// without them.
	LinkWait = time.Hour
)

// BackoffAfter is the wait after the n-th failed attempt.
func BackoffAfter(n int) time.Duration {
	d := Backoff
	for i := 1; i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	if d > MaxBackoff {
		d = MaxBackoff
	}
	return d
}

// Sender delivers due outbox rows.
type Sender struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
	Box    *secretbox.Box
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// OnResult is told each row's final outcome (sent, failed) for /metrics; it may be called from
	// several goroutines at once.
	OnResult func(d *tributary.Destination, status string)
	// Workers bounds how many requests are in flight at once (DefaultWorkers when 0).
	Workers int

	tokens sync.Map // destination id → *oauthToken (Google Ads)
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Run delivers due rows every interval until ctx ends.
func (s *Sender) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log().LogAttrs(ctx, slog.LevelWarn, "destinations: sending", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DefaultWorkers is how many requests a sender has in flight at once by default: enough that one slow
// or failing platform does not hold the others up, few enough not to trip the platforms' rate limits.
const DefaultWorkers = 4

// RunOnce claims due rows and attempts each once; it returns how many it attempted.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		rows, err := s.Meta.ClaimOutbox(ctx, s.now(), Lease, 100)
		if err != nil {
			return total, err
		}
		if err := s.attemptAll(ctx, rows); err != nil {
			return total, err
		}
		total += len(rows)
		if len(rows) < 100 {
			return total, nil
		}
	}
}

// attemptAll attempts a claimed batch with at most Workers requests in flight. The rows of one payment
// (or subscription) at one destination go on one goroutine, payment entries first, then claim order
// (oldest first): a Google Ads adjustment is attempted after its conversion's attempt has been stored,
// never beside it or before it. Rows of different payments or destinations go in parallel; each row is
// attempted by one goroutine only, so the platforms' dedup keys see no more requests than before. The
// first store error is returned once every started row is done (a group stops at its own error).
func (s *Sender) attemptAll(ctx context.Context, rows []tributary.DestinationDelivery) error {
	var order []string
	groups := map[string][]*tributary.DestinationDelivery{}
	for i := range rows {
		k := rows[i].DestinationID + "\x00" + rows[i].PaymentID
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], &rows[i])
	}
	// Rows written at the same instant are claimed in id order; the payment goes before what adjusts it.
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool {
			return g[i].Kind == tributary.EntryPayment && g[j].Kind != tributary.EntryPayment
		})
	}
	workers := s.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, k := range order {
		g := groups[k]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, row := range g {
				if err := s.attempt(ctx, row); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// outcome of building or sending one row.
type outcome struct {
	status    string // sent, skipped, failed, or "" to retry
	err       string
	request   string
	response  int
	permanent bool
}

func skip(reason string) outcome { return outcome{status: tributary.OutboxSkipped, err: reason} }

// errWait is a transient state of the row's facts (entry or link not stored yet).
var errWait = errors.New("waiting for the ledger entry and its link")

// errWaitMovement is errWait for a subscription row: its movement or its customer's link is not stored yet.
var errWaitMovement = fmt.Errorf("waiting for the MRR movement and its customer's link: %w", errWait)

func (s *Sender) attempt(ctx context.Context, row *tributary.DestinationDelivery) error {
	now := s.now()
	dest, err := s.Meta.Destination(ctx, row.SiteID, row.DestinationID)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		return nil // deleted with its outbox meanwhile
	} else if err != nil {
		return err
	}
	out := s.deliver(ctx, dest, row, now)
	row.Attempts++
	row.LastError = out.err
	if out.request != "" {
		row.Request = out.request
	}
	row.Response = out.response
	switch {
	case out.status == tributary.OutboxSent:
		row.Status, row.LastError = tributary.OutboxSent, ""
		row.SentAt = &now
	case out.status == tributary.OutboxSkipped:
		row.Status = tributary.OutboxSkipped
	case out.permanent || row.Attempts >= MaxAttempts:
		row.Status = tributary.OutboxFailed
	default:
		row.Status, row.NextAttemptAt = tributary.OutboxPending, now.Add(BackoffAfter(row.Attempts))
	}
	if err := s.Meta.UpdateOutbox(ctx, row); err != nil {
		return err
	}
	if row.Status != tributary.OutboxPending && row.Status != tributary.OutboxSkipped {
		if s.OnResult != nil {
			s.OnResult(dest, row.Status)
		}
		if row.Status == tributary.OutboxFailed {
			s.log().LogAttrs(ctx, slog.LevelWarn, "destinations: delivery failed", slog.String("destination", dest.ID), slog.String("type", dest.Type),
				slog.String("delivery", row.ID), slog.String("err", row.LastError))
		}
	}
	return nil
}

func (s *Sender) deliver(ctx context.Context, dest *tributary.Destination, row *tributary.DestinationDelivery, now time.Time) outcome {
	if !dest.Enabled {
		return skip("destination disabled")
	}
	var c *Conversion
	var err error
	if row.Kind == tributary.DeliverySubscription {
		if dest.Type != tributary.DestinationWebhook {
			return skip("only the webhook takes subscription events")
		}
		c, err = s.subscription(ctx, row, now)
	} else {
		c, err = s.conversion(ctx, row, now)
	}
	if errors.Is(err, errWait) {
		return outcome{err: err.Error()}
	}
	if err != nil {
		return outcome{err: err.Error()}
	}
	if c.ConsentDeclined {
		return skip("the visitor declined consent")
	}
	if s.Box == nil {
		return outcome{err: "no --secret-key to open the destination's credential with"}
	}
	secret, err := s.Box.Open(purpose(dest.ID), dest.SealedSecret)
	if err != nil {
		return outcome{err: "credential cannot be opened: " + err.Error(), permanent: true}
	}
	req, reason, err := s.build(ctx, dest, secret, c, row)
	if err != nil {
		return outcome{err: err.Error()}
	}
	if req == nil {
		return skip(reason)
	}
	return s.send(ctx, dest, req)
}

// Conversion is what the sender knows about one row's entry when it builds the request.
type Conversion struct {
	Site    *tributary.Site
	Entry   tributary.LedgerEntry
	First   tributary.LedgerEntry // the payment's first payment entry
	IsFirst bool                  // Entry is the payment's first payment entry (the conversion itself)
	// Net is the payment's money after this entry (all its entries up to and including it).
	Net  int64
	Link *tributary.Identity
	// Credited is the visit credited under the model (nil when unattributed), Credits every visit's
	// share of the entry.
	Credited *tributary.VisitSummary
	Credits  []Credit
	Model    attribution.Model
	// Click is the credited visit's ad click (empty Platform when none), with its time.
	Click           Click
	ConsentDeclined bool
	// Record is the payment's mutable record when there is one (Stripe payments).
	Record  *tributary.Payment
	PageURL string // the credited visit's landing page
	// Movement is the MRR movement a subscription row reports (Entry is then empty, Net the
	// subscription's MRR after the movement), Started the subscription's first movement.
	Movement *tributary.MRRMovement
	Started  time.Time
	// FBP is Meta's browser id (the _fbp cookie the tracker sent with a pageview): the credited visit's,
	// else the person's newest before the payment; "" when none.
	FBP string
}

// Click is an ad click id seen on a visit.
type Click struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	// Param is the landing-page parameter that carried it (gclid, gbraid, wbraid, fbclid…); "" for
	// visits stored before it was kept.
	Param string    `json:"param,omitempty"`
	At    time.Time `json:"at"`
}

// Credit is one visit's share of an entry under the model.
type Credit struct {
	SessionID   string `json:"session_id"`
	Channel     string `json:"channel"`
	Source      string `json:"source"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	Amount      string `json:"amount"`
}

func (s *Sender) conversion(ctx context.Context, row *tributary.DestinationDelivery, now time.Time) (*Conversion, error) {
	young := now.Sub(row.CreatedAt) < LinkWait
	site, err := s.Meta.Site(ctx, row.SiteID)
	if err != nil {
		return nil, err
	}
	entries, err := s.Events.LedgerForPayment(ctx, row.SiteID, row.PaymentID)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if !entries[i].OccurredAt.Equal(entries[j].OccurredAt) {
			return entries[i].OccurredAt.Before(entries[j].OccurredAt)
		}
		return entries[i].ID < entries[j].ID
	})
	c, err := s.newConversion(ctx, site)
	if err != nil {
		return nil, err
	}
	found, haveFirst := false, false
	for _, e := range entries {
		if e.Kind == tributary.EntryPaymentFailed {
			continue
		}
		if e.Kind == tributary.EntryPayment && !haveFirst && e.Amount > 0 {
			c.First, haveFirst = e, true
		}
		if !found {
			c.Net += e.Amount
		}
		if e.ID == row.EntryID {
			c.Entry, found = e, true
		}
	}
	if !found {
		if young {
			return nil, errWait
		}
		return nil, fmt.Errorf("ledger entry %s was never stored", row.EntryID)
	}
	c.IsFirst = haveFirst && c.First.ID == c.Entry.ID
	// The payment's record (Stripe) names its e-mail when the ledger does not, and whether it was merged
	// into another payment (whose own conversion then stands for the money).
	if rec, err := s.Meta.Payment(ctx, row.SiteID, row.PaymentID); err == nil {
		c.Record = rec
	} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
		return nil, err
	}
	link, err := s.Events.PaymentLink(ctx, row.SiteID, row.PaymentID)
	if tributary.ErrorCode(err) == tributary.ENOTFOUND {
		if young {
			return nil, errWait
		}
		link, err = &tributary.Identity{LinkMethod: tributary.LinkUnattributed}, nil
	}
	if err != nil {
		return nil, err
	}
	c.Link = link
	paidAt := c.Entry.OccurredAt
	if haveFirst {
		paidAt = c.First.OccurredAt
	}
	if err := s.attribute(ctx, c, paidAt, c.Entry.Amount, c.Entry.Currency, now); err != nil {
		return nil, err
	}
	return c, nil
}

// newConversion starts a row's Conversion with the site and its model for destinations.
func (s *Sender) newConversion(ctx context.Context, site *tributary.Site) (*Conversion, error) {
	c := &Conversion{Site: site, Model: attribution.DefaultModel}
	if name, err := s.Meta.AttributionModel(ctx, site.ID); err != nil {
		return nil, err
	} else if m, err := attribution.ParseModel(name); err == nil {
		c.Model = m
	}
	return c, nil
}

// SubscriptionLinkWait is how long a subscription row whose customer has no linked visitor yet waits
// for one before it is sent unattributed: a subscription's first invoice is paid, and linked, just after
// the subscription starts.
const SubscriptionLinkWait = 2 * time.Minute

// subscription reads a subscription row's MRR movement, the subscription's MRR after it and its
// attribution: the visitor the customer was last linked to (a linked payment, an identify with the
// customer id) by the movement's time, or within LinkWait after it (a first invoice is paid, and
// linked, just after its subscription starts), credited under the model when the subscription started,
// so every movement of one subscription names the same visit.
func (s *Sender) subscription(ctx context.Context, row *tributary.DestinationDelivery, now time.Time) (*Conversion, error) {
	site, err := s.Meta.Site(ctx, row.SiteID)
	if err != nil {
		return nil, err
	}
	c, err := s.newConversion(ctx, site)
	if err != nil {
		return nil, err
	}
	ms, err := s.Events.MRRMovementsOf(ctx, row.SiteID, row.PaymentID)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(row.EntryID, MovementEntryID(""))
	for i := range ms {
		if i == 0 {
			c.Started = ms[i].At
		}
		c.Net += ms[i].Delta
		if ms[i].ID == id {
			c.Movement = &ms[i]
			break
		}
	}
	if c.Movement == nil {
		if now.Sub(row.CreatedAt) < LinkWait {
			return nil, errWaitMovement
		}
		return nil, fmt.Errorf("mrr movement %s was never stored", id)
	}
	m := c.Movement
	c.Link = &tributary.Identity{SiteID: row.SiteID, CustomerID: m.CustomerID, LinkMethod: tributary.LinkUnattributed}
	if m.CustomerID != "" {
		t, err := s.Events.VisitorByCustomer(ctx, row.SiteID, m.CustomerID, m.At.Add(LinkWait))
		switch {
		case err == nil:
			c.Link.VisitorID, c.Link.SessionID, c.Link.LinkMethod = t.VisitorID, t.SessionID, tributary.LinkCustomer
		case tributary.ErrorCode(err) != tributary.ENOTFOUND:
			return nil, err
		case now.Sub(row.CreatedAt) < SubscriptionLinkWait:
			return nil, errWaitMovement
		}
	}
	if err := s.attribute(ctx, c, c.Started, m.Delta, m.Currency, now); err != nil {
		return nil, err
	}
	return c, nil
}

// attribute fills c's credited visit, credits, click and consent from c.Link: the linked person's
// visits in the lookback before at, credited under c.Model with amount (signed) in currency.
func (s *Sender) attribute(ctx context.Context, c *Conversion, at time.Time, amount int64, currency string, now time.Time) error {
	site, link, paidAt := c.Site, c.Link, at
	lookback := time.Duration(attribution.DefaultLookbackDays) * 24 * time.Hour
	if link.VisitorID != "" {
		// The person's visitors: those the identity graph joins to the linked one (identify, customer,
		// e-mail), as the stats credit a payment.
		visitors := []string{link.VisitorID}
		reader, canRead := s.Events.(tributary.VisitorEventReader)
		if canRead {
			keys, err := reader.IdentityKeys(ctx, site.ID)
			if err != nil {
				return err
			}
			visitors = personOf(link.VisitorID, keys)
		}
		sessions, err := s.Events.VisitorVisits(ctx, site.ID, visitors, paidAt.Add(-lookback), paidAt.Add(time.Second))
		if err != nil {
			return err
		}
		touches := make([]attribution.Touchpoint, len(sessions))
		for i, v := range sessions {
			touches[i] = attribution.Touchpoint{SessionID: v.SessionID, Start: v.Start, Channel: v.Channel, Source: v.Source}
		}
		touches = attribution.Select(touches, paidAt, lookback)
		byID := map[string]*tributary.VisitSummary{}
		for i := range sessions {
			byID[sessions[i].SessionID] = &sessions[i]
		}
		var best *attribution.Share
		shares := attribution.Credit(c.Model, touches, paidAt, abs(amount))
		for i := range shares {
			sh := &shares[i]
			if sh.Index == attribution.Unattributed {
				continue
			}
			v := byID[sh.SessionID]
			amt := sh.Amount
			if amount < 0 {
				amt = -amt
			}
			if amt != 0 {
				c.Credits = append(c.Credits, Credit{SessionID: v.SessionID, Channel: v.Channel, Source: v.Source, UTMCampaign: v.UTMCampaign,
					Amount: tributary.FormatMinor(amt, currency)})
			}
			// The credited visit: the largest share, the later visit on a tie.
			if best == nil || sh.Amount >= best.Amount {
				best = sh
			}
		}
		if best != nil && best.Amount > 0 {
			c.Credited = byID[best.SessionID]
		}
		if canRead {
			required, err := s.Meta.ConsentRequired(ctx, site.ID)
			if err != nil {
				return err
			}
			// The person's newest consent call on any of their devices wins.
			consent, consentAt := "", time.Time{}
			fbpCredited := false
			for _, v := range visitors {
				sig, err := reader.SignalEvents(ctx, site.ID, v, paidAt.Add(-lookback), now.Add(time.Minute))
				if err != nil {
					return err
				}
				for _, e := range sig {
					if e.Name == tributary.ConsentEventName {
						if !e.Timestamp.Before(consentAt) {
							consent, consentAt = e.Props["granted"], e.Timestamp
						}
						continue
					}
					// Meta's browser id: the credited visit's, else the person's newest before the
					// payment (one browser of theirs; Meta matches it to the account).
					if e.FBP != "" && !e.Timestamp.After(paidAt) {
						inCredited := c.Credited != nil && e.SessionID == c.Credited.SessionID
						if inCredited || !fbpCredited {
							c.FBP, fbpCredited = e.FBP, inCredited
						}
					}
					if c.Credited != nil && e.SessionID == c.Credited.SessionID && c.Click.ID == "" && e.ClickID != "" {
						c.Click = Click{Platform: e.ClickIDPlatform, ID: e.ClickID, Param: e.ClickIDParam, At: e.Timestamp}
						c.PageURL = "https://" + e.Hostname + e.Path
					}
				}
			}
			c.ConsentDeclined = consent == "false" || (required && consent != "true")
		}
		if c.Credited != nil && c.PageURL == "" && c.Credited.LandingPage != "" {
			c.PageURL = "https://" + site.Domain + c.Credited.LandingPage
		}
	} else {
		required, err := s.Meta.ConsentRequired(ctx, site.ID)
		if err != nil {
			return err
		}
		c.ConsentDeclined = required // nobody could grant it
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// request is one HTTP request to a platform.
type request struct {
	method, url string
	header      http.Header
	body        []byte
	// check reads a 2xx answer for errors the platform reports inside it; transient says whether to retry.
	check func(body []byte) (msg string, transient bool)
}

func (s *Sender) send(ctx context.Context, dest *tributary.Destination, r *request) outcome {
	out := outcome{request: string(r.body)}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		out.err, out.permanent = err.Error(), true
		return out
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	resp, err := s.client().Do(req)
	if err != nil {
		out.err = "request failed: " + err.Error()
		return out
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	out.response = resp.StatusCode
	switch {
	case resp.StatusCode/100 == 2:
		if r.check != nil {
			if msg, transient := r.check(body); msg != "" {
				out.err, out.permanent = msg, !transient
				return out
			}
		}
		out.status = tributary.OutboxSent
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		out.err = fmt.Sprintf("%s answered %d: %s", dest.Type, resp.StatusCode, snippet(body))
	default:
		out.err, out.permanent = fmt.Sprintf("%s answered %d: %s", dest.Type, resp.StatusCode, snippet(body)), true
	}
	return out
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the payload types always marshal
	}
	return b
}

// personOf returns visitor with every visitor the identity graph joins to it (the same person id,
// customer id or e-mail, transitively), sorted.
func personOf(visitor string, keys [][4]string) []string {
	g := people.New()
	for _, k := range keys {
		g.Add(k)
	}
	return g.Members(visitor)
}
