// Package s2s processes server-to-server events (POST /api/v1/events): validation of the
// TraceLog/Pulsora-compatible body, idempotency on event_id, storage as events, and money events turned
// into ledger entries and MRR movements under the same rules as Stripe payments.
package s2s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/referrer"
)

// Limits.
const (
	MaxMetadataBytes = 32 << 10
	MaxFuture        = 5 * time.Minute
	MaxBatch         = 500
	maxIDLen         = 200
	maxNameLen       = 120
)

// Event types of the Pulsora-style body.
var eventTypes = map[string]bool{"purchase": true, "subscription": true, "renewal": true, "upgrade": true, "downgrade": true, "refund": true, "cancellation": true}

// Input is the request body. Pointers tell "absent" from "empty" where it matters.
type Input struct {
	EventID       string          `json:"event_id"`
	TransactionID string          `json:"transaction_id"`
	EventName     string          `json:"event_name"`
	EventType     string          `json:"event_type"`
	Timestamp     string          `json:"timestamp"`
	CustomerID    string          `json:"customer_id"`
	Email         string          `json:"email"`
	SessionID     string          `json:"session_id"`
	VisitorID     string          `json:"visitor_id"`
	Metadata      json.RawMessage `json:"metadata"`
	Referrer      string          `json:"referrer"`
	UTMSource     string          `json:"utm_source"`
	UTMMedium     string          `json:"utm_medium"`
	UTMCampaign   string          `json:"utm_campaign"`
	UTMTerm       string          `json:"utm_term"`
	UTMContent    string          `json:"utm_content"`
	Amount        json.RawMessage `json:"amount"`
	Currency      string          `json:"currency"`
	// SubscriptionID names the subscription for subscription event types (default: customer_id).
	SubscriptionID string `json:"subscription_id"`
	// Interval of a subscription amount: month (default) or year, week, day.
	Interval string `json:"interval"`
}

// Result is the answer for one event.
type Result struct {
	Processed bool   `json:"processed"`
	EventID   string `json:"event_id,omitempty"`
	// Revenue is set when the event became a ledger entry: amount in minor units and currency.
	Revenue *tributary.Money `json:"revenue,omitempty"`
	// Warning says why an amount the event carries was not recorded as money, naming the setting that
	// would record it.
	Warning string     `json:"warning,omitempty"`
	Error   *ErrorBody `json:"error,omitempty"`
}

// DefaultRevenueEvent is the revenue setting every site has out of the box: an event named purchase
// carries metadata.amount in major units (49.99 is $49.99) and metadata.currency, as TraceLog's guide
// sends it. A stored setting of the same name replaces it; events with an event_type or a top-level
// amount keep the Pulsora-style minor units.
var DefaultRevenueEvent = tributary.RevenueEvent{Name: "purchase", AmountPath: "metadata.amount", Unit: tributary.UnitMajor, CurrencyPath: "metadata.currency"}

// ErrorBody is a per-event error in batch answers.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Processor handles server events for a site.
type Processor struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
	Ledger *ledger.Recorder
	Now    func() time.Time
}

// Decode parses one event body strictly: unknown fields are refused so a typo does not silently lose
// data.
func Decode(raw []byte) (Input, map[string]any, error) {
	var in Input
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return in, nil, tributary.FieldError(name, "unknown field %q", name)
		}
		if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
			return in, nil, tributary.FieldError(te.Field, "field %q must be %s", te.Field, te.Type.String())
		}
		return in, nil, tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	}
	var doc map[string]any
	d2 := json.NewDecoder(bytes.NewReader(raw))
	d2.UseNumber()
	if err := d2.Decode(&doc); err != nil {
		return in, nil, tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	}
	return in, doc, nil
}

type validated struct {
	in       Input
	doc      map[string]any
	id       string
	at       time.Time
	metadata map[string]any
}

func (p *Processor) validate(in Input, doc map[string]any) (*validated, error) {
	v := &validated{in: in, doc: doc}
	v.id = strings.TrimSpace(in.EventID)
	if v.id == "" {
		v.id = strings.TrimSpace(in.TransactionID)
	}
	if v.id == "" {
		return nil, tributary.FieldError("event_id", "event_id is required (the idempotency key; transaction_id is accepted as an alias)")
	}
	if len(v.id) > maxIDLen {
		return nil, tributary.FieldError("event_id", "event_id is longer than %d characters", maxIDLen)
	}
	name := strings.TrimSpace(in.EventName)
	if name == "" && in.EventType != "" {
		name = in.EventType
	}
	if name == "" {
		return nil, tributary.FieldError("event_name", "event_name is required")
	}
	if len(name) > maxNameLen {
		return nil, tributary.FieldError("event_name", "event_name is longer than %d characters", maxNameLen)
	}
	v.in.EventName = name
	if in.EventType != "" && !eventTypes[in.EventType] {
		return nil, tributary.FieldError("event_type", "event_type must be one of purchase, subscription, renewal, upgrade, downgrade, refund, cancellation")
	}
	now := p.Now()
	v.at = now
	if in.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Timestamp)
		if err != nil {
			return nil, tributary.FieldError("timestamp", "timestamp must be ISO 8601 with a zone, e.g. 2026-11-20T12:00:00Z")
		}
		// The accepted window: from 2010-01-01 (tributary.EarliestEventTime; year 1 or 1900 is a bug in
		// the sender, not history) to 5 minutes ahead of the server's clock.
		if err := tributary.CheckEventTime("timestamp", t, now, MaxFuture); err != nil {
			return nil, err
		}
		v.at = t
	}
	if len(in.Metadata) > MaxMetadataBytes {
		return nil, &tributary.Error{Code: tributary.ETOOLARGE, Field: "metadata", Message: "metadata is larger than 32 KiB"}
	}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		md, ok := doc["metadata"].(map[string]any)
		if !ok {
			return nil, tributary.FieldError("metadata", "metadata must be a JSON object")
		}
		v.metadata = md
	}
	for field, val := range map[string]string{"visitor_id": in.VisitorID, "session_id": in.SessionID} {
		if val != "" && !tributary.ValidID(val) {
			return nil, tributary.FieldError(field, "%s must be 1 to 64 letters, digits, - or _", field)
		}
	}
	// Ids are keys: refused when they are not clean text rather than silently changed. Free text is
	// bounded here and cleaned (NUL removed) when stored.
	for field, val := range map[string]string{"event_id": v.id, "customer_id": in.CustomerID, "subscription_id": in.SubscriptionID,
		"metadata.original_event_id": originalEventID(doc), "email": in.Email, "event_name": name} {
		if len(val) > maxIDLen && field != "email" { // e-mail addresses are bounded below (254)
			return nil, tributary.FieldError(field, "%s is longer than %d characters", field, maxIDLen)
		}
		if tributary.CleanText(val, 0) != val {
			return nil, tributary.FieldError(field, "%s must not contain NUL bytes or invalid UTF-8", field)
		}
	}
	for field, val := range map[string]string{"utm_source": in.UTMSource, "utm_medium": in.UTMMedium, "utm_campaign": in.UTMCampaign,
		"utm_term": in.UTMTerm, "utm_content": in.UTMContent} {
		if len(val) > tributary.MaxShortText {
			return nil, tributary.FieldError(field, "%s is longer than %d characters", field, tributary.MaxShortText)
		}
	}
	if len(in.Referrer) > tributary.MaxReferrer {
		return nil, tributary.FieldError("referrer", "referrer is longer than %d characters", tributary.MaxReferrer)
	}
	if in.Email != "" && (!strings.Contains(in.Email, "@") || len(in.Email) > 254) {
		return nil, tributary.FieldError("email", "email is not an e-mail address")
	}
	switch in.Interval {
	case "", "day", "week", "month", "year":
	default:
		return nil, tributary.FieldError("interval", "interval must be day, week, month or year")
	}
	return v, nil
}

// originalEventID is metadata.original_event_id when it is a string.
func originalEventID(doc map[string]any) string {
	v, _ := lookup(doc, "metadata.original_event_id")
	s, _ := v.(string)
	return s
}

// lookup walks a dot path ("metadata.amount", "amount") through the decoded body.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// amountOf reads the money of a revenue event. Minor units must be whole numbers, so "49.99" in minor
// units is refused rather than guessed; major units are converted exactly.
func amountOf(v *validated, site *tributary.Site, rs *tributary.RevenueEvent) (*tributary.Money, error) {
	path, unit := "metadata.amount", tributary.UnitMinor
	curPath := "metadata.currency"
	if rs != nil {
		if rs.AmountPath != "" {
			path = rs.AmountPath
		}
		if rs.Unit != "" {
			unit = rs.Unit
		}
		if rs.CurrencyPath != "" {
			curPath = rs.CurrencyPath
		}
	}
	raw, ok := lookup(v.doc, path)
	if !ok && len(v.in.Amount) > 0 {
		raw, ok = lookup(v.doc, "amount")
	}
	if !ok {
		return nil, nil
	}
	cur := site.Currency
	if c, ok := lookup(v.doc, curPath); ok {
		if s, _ := c.(string); s != "" {
			cur = s
		}
	} else if v.in.Currency != "" {
		cur = v.in.Currency
	}
	code, valid := tributary.NormalizeCurrency(cur)
	if !valid {
		return nil, tributary.FieldError(curPath, "currency %q is not an ISO 4217 code", cur)
	}
	var text string
	switch x := raw.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return nil, tributary.FieldError(path, "%s must be a number", path)
	}
	// A number is short and its exponent small: "1e999999999" would otherwise make big.Rat build a
	// billion-digit integer (seconds of CPU and gigabytes) for an amount refused anyway.
	if len(text) > 64 {
		return nil, tributary.FieldError(path, "%s is too long to be an amount", path)
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		if exp, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+")); err != nil || exp > 30 || exp < -30 {
			return nil, tributary.FieldError(path, "%s %q is not an amount (exponent out of range)", path, text)
		}
	}
	if strings.ContainsAny(text, "eE") {
		r, ok := new(big.Rat).SetString(text)
		if !ok {
			return nil, tributary.FieldError(path, "%s %q is not a number", path, text)
		}
		text = r.FloatString(6)
	}
	var minor int64
	var err error
	if unit == tributary.UnitMajor {
		minor, err = tributary.ParseMajor(text, code)
	} else {
		minor, err = tributary.ParseMajor(text, "JPY") // minor units are whole numbers: parse with zero decimals
		if err != nil {
			err = fmt.Errorf("%s is in minor units (e.g. 4999 for 49.99 %s) and must be a whole number, got %q; set the unit to major in the revenue settings if you send 49.99", path, code, text)
		}
	}
	if err != nil {
		return nil, tributary.FieldError(path, "%s", strings.TrimPrefix(err.Error(), "invalid: "))
	}
	// Payments are never negative (a refund is event_type refund with a positive amount) and never
	// larger than tributary.MaxAmountMinor, so no sum of them can overflow. A refund's sign is its
	// kind's, so a negative refund amount means the same refund.
	if v.in.EventType == "refund" && minor < 0 && minor != math.MinInt64 {
		minor = -minor
	}
	if err := tributary.CheckAmount(path, minor); err != nil {
		return nil, err
	}
	return &tributary.Money{Amount: minor, Currency: code}, nil
}

// Process handles one event for site. A duplicate event_id returns Processed false and stores nothing.
func (p *Processor) Process(ctx context.Context, site *tributary.Site, raw []byte) (Result, error) {
	in, doc, err := Decode(raw)
	if err != nil {
		return Result{}, err
	}
	v, err := p.validate(in, doc)
	if err != nil {
		return Result{}, err
	}
	var rs *tributary.RevenueEvent
	settings, err := p.Meta.RevenueEvents(ctx, site.ID)
	if err != nil {
		return Result{}, err
	}
	for i := range settings {
		if settings[i].Name == v.in.EventName {
			rs = &settings[i]
		}
	}
	if rs == nil && in.EventType == "" && len(in.Amount) == 0 && in.EventName == DefaultRevenueEvent.Name {
		def := DefaultRevenueEvent
		rs = &def
	}
	var money *tributary.Money
	var warning string
	if rs != nil || in.EventType != "" || len(in.Amount) > 0 {
		if money, err = amountOf(v, site, rs); err != nil {
			return Result{}, err
		}
	} else if _, ok := lookup(v.doc, "metadata.amount"); ok {
		// An amount nobody reads: say so rather than answer a silent processed: true.
		warning = fmt.Sprintf("metadata.amount was not recorded as money: %q is not a revenue event. Declare it in the site's revenue settings "+
			"(Settings → Revenue events, or POST /api/v1/sites/%s/revenue-events with {\"event_name\": %q, \"amount_path\": \"metadata.amount\", \"unit\": \"major\" or \"minor\"}), "+
			"or send an event_type", in.EventName, site.ID, in.EventName)
	}
	if in.EventType != "" && in.EventType != "cancellation" && money == nil {
		return Result{}, tributary.FieldError("amount", "event_type %s needs an amount (metadata.amount or amount)", in.EventType)
	}
	fresh, err := p.Meta.ClaimServerEventID(ctx, site.ID, v.id, p.Now())
	if err != nil {
		return Result{}, err
	}
	if !fresh {
		return Result{Processed: false, EventID: v.id}, nil
	}
	if err := p.store(ctx, site, v, money); err != nil {
		// Let the client's retry through: the claim is released when nothing was stored.
		if rerr := p.Meta.ReleaseServerEventID(ctx, site.ID, v.id); rerr != nil {
			err = fmt.Errorf("%w (and releasing the event id failed: %v)", err, rerr)
		}
		return Result{}, err
	}
	return Result{Processed: true, EventID: v.id, Revenue: money, Warning: warning}, nil
}

func (p *Processor) store(ctx context.Context, site *tributary.Site, v *validated, money *tributary.Money) error {
	in := v.in
	props := map[string]string{}
	room := ingest.MaxProps
	if money != nil {
		room-- // tributary.PaymentIDProp
	}
	for k, val := range v.metadata {
		if len(props) >= room {
			break
		}
		switch x := val.(type) {
		case string:
			props[k] = x
		case json.Number:
			props[k] = x.String()
		case bool:
			props[k] = fmt.Sprint(x)
		}
	}
	res := referrer.Classify(referrer.Input{Referrer: in.Referrer, SiteDomain: site.Domain, UTMSource: in.UTMSource, UTMMedium: in.UTMMedium, UTMCampaign: in.UTMCampaign})
	ev := tributary.Event{SiteID: site.ID, Timestamp: v.at.UTC(), Name: in.EventName, Source: tributary.SourceServer,
		VisitorID: in.VisitorID, SessionID: in.SessionID, Referrer: res.Referrer, ReferrerSource: res.Source, Channel: res.Channel,
		UTMSource: in.UTMSource, UTMMedium: in.UTMMedium, UTMCampaign: in.UTMCampaign, UTMTerm: in.UTMTerm, UTMContent: in.UTMContent, Props: props}
	if ev.SessionID == "" {
		ev.SessionID = ev.VisitorID
	}
	if money != nil && money.Amount != 0 && in.EventType != "refund" {
		ev.Props[tributary.PaymentIDProp] = "api:" + v.id
	}
	ev.Clean()
	if err := p.Events.InsertEvents(ctx, []tributary.Event{ev}); err != nil {
		return err
	}
	if in.CustomerID != "" || in.Email != "" {
		// The customer joins the visitor's person, so later payments of this customer link to them.
		if in.VisitorID != "" {
			email := strings.ToLower(in.Email)
			if err := p.Events.InsertIdentities(ctx, []tributary.Identity{{SiteID: site.ID, At: v.at.UTC(), VisitorID: in.VisitorID, SessionID: in.SessionID,
				CustomerID: in.CustomerID, Email: email, PersonID: firstNonEmpty(email, in.CustomerID), Source: tributary.SourceServer}}); err != nil {
				return err
			}
		}
	}
	if money == nil && in.EventType != "cancellation" {
		return nil
	}
	paymentID := "api:" + v.id
	var entries []tributary.LedgerEntry
	if money != nil && money.Amount != 0 {
		kind, amount := tributary.EntryPayment, money.Amount
		if in.EventType == "refund" {
			kind, amount = tributary.EntryRefund, -abs(amount)
			// A refund names the payment it refunds through metadata.refunds / original_event_id when
			// given, so it is credited back through that payment's touchpoints.
			if orig, ok := lookup(v.doc, "metadata.original_event_id"); ok {
				if s, _ := orig.(string); s != "" {
					paymentID = "api:" + s
				}
			}
		}
		entries = append(entries, tributary.LedgerEntry{ID: "api:" + v.id, SiteID: site.ID, Livemode: true, Kind: kind, PaymentID: paymentID,
			OccurredAt: v.at.UTC(), Amount: amount, Currency: money.Currency, CustomerID: in.CustomerID, Email: strings.ToLower(in.Email),
			SubscriptionID: in.SubscriptionID, Source: "api", Detail: in.EventType})
	}
	movements, err := p.subscription(ctx, site, v, money)
	if err != nil {
		return err
	}
	if kind := firstKind(entries); kind == tributary.EntryPayment {
		if _, err := p.Ledger.Link(ctx, site, ledger.Payment{SiteID: site.ID, PaymentID: paymentID, At: v.at, VisitorID: in.VisitorID, SessionID: in.SessionID,
			CustomerID: in.CustomerID, Email: in.Email, Source: "api", Referrer: in.Referrer, UTMSource: in.UTMSource, UTMMedium: in.UTMMedium, UTMCampaign: in.UTMCampaign}); err != nil {
			return err
		}
	}
	return p.Ledger.Record(ctx, site, entries, movements)
}

func firstKind(es []tributary.LedgerEntry) string {
	if len(es) == 0 {
		return ""
	}
	return es[0].Kind
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// monthly normalises an amount per interval to a month, exactly, rounding half-even on the last unit.
func monthly(amount int64, interval string) int64 {
	num, den := int64(1), int64(1)
	switch interval {
	case "year":
		den = 12
	case "week":
		num, den = 52, 12
	case "day":
		num, den = 365, 12
	}
	return tributary.RoundHalfEven(new(big.Rat).SetFrac(big.NewInt(amount*num), big.NewInt(den)))
}

// subscription turns subscription event types into MRR movements against the stored state.
func (p *Processor) subscription(ctx context.Context, site *tributary.Site, v *validated, money *tributary.Money) ([]tributary.MRRMovement, error) {
	in := v.in
	switch in.EventType {
	case "subscription", "upgrade", "downgrade", "cancellation", "renewal":
	default:
		return nil, nil
	}
	subID := firstNonEmpty(in.SubscriptionID, in.CustomerID)
	if subID == "" {
		return nil, tributary.FieldError("subscription_id", "subscription events need subscription_id or customer_id")
	}
	prev, err := p.Meta.APISubscription(ctx, site.ID, subID)
	if err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
		return nil, err
	}
	next := tributary.APISubscription{SiteID: site.ID, SubscriptionID: subID, CustomerID: in.CustomerID, UpdatedAt: v.at.UTC()}
	if prev != nil {
		next = *prev
		next.UpdatedAt = v.at.UTC()
	}
	var kind string
	var delta int64
	switch in.EventType {
	case "cancellation":
		if prev == nil || !prev.Active {
			return nil, nil
		}
		kind, delta = tributary.MRRChurn, -prev.MRR
		next.Active, next.MRR = false, 0
	case "renewal":
		if prev != nil && prev.Active {
			return nil, p.Meta.PutAPISubscription(ctx, &next)
		}
		fallthrough
	default:
		mrr := monthly(money.Amount, in.Interval)
		next.Currency = money.Currency
		switch {
		case prev == nil:
			kind, delta = tributary.MRRNew, mrr
		case !prev.Active:
			kind, delta = tributary.MRRReactivation, mrr
		case mrr > prev.MRR:
			kind, delta = tributary.MRRExpansion, mrr-prev.MRR
		case mrr < prev.MRR:
			kind, delta = tributary.MRRContraction, mrr-prev.MRR
		}
		next.Active, next.MRR = true, mrr
	}
	if err := p.Meta.PutAPISubscription(ctx, &next); err != nil {
		return nil, err
	}
	if kind == "" || delta == 0 {
		return nil, nil
	}
	cur := next.Currency
	if cur == "" && prev != nil {
		cur = prev.Currency
	}
	return []tributary.MRRMovement{{ID: "api:" + v.id + ":mrr", SiteID: site.ID, Livemode: true, SubscriptionID: subID, CustomerID: in.CustomerID,
		At: v.at.UTC(), Kind: kind, Delta: delta, Currency: cur, Source: "api"}}, nil
}
