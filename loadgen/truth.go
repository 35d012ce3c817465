package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/tributary/tributary"
)

// Attribution models the ground truth is computed for (names as in the query API).
const (
	ModelFirstTouch    = "first_touch"
	ModelLastTouch     = "last_touch"
	ModelLastNonDirect = "last_non_direct"
)

// TruthModels lists the models in Truth.Revenue.
var TruthModels = []string{ModelFirstTouch, ModelLastTouch, ModelLastNonDirect}

// NoTouchpoint is the channel credited with a linked payment whose person has no session inside the
// lookback window. The scenario avoids it (customers keep visiting), so a non-zero count is worth a look.
const NoTouchpoint = "(no touchpoint)"

// Amounts is money of one currency, in minor units.
type Amounts struct {
	Payments int   `json:"payments"`
	Gross    int64 `json:"gross"`
	Refunded int64 `json:"refunded"` // positive: money given back
	Disputed int64 `json:"disputed"` // positive: money a dispute withdrew
	Net      int64 `json:"net"`      // Gross − Refunded − Disputed
}

func (a *Amounts) add(p *Payment) {
	a.Payments++
	a.Gross += p.Amount
	a.Refunded += p.Refunded()
	a.Disputed += p.Disputed()
	a.Net = a.Gross - a.Refunded - a.Disputed
}

// Touch names the session a model credits.
type Touch struct {
	SessionID string    `json:"session_id,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	Channel   string    `json:"channel"`
	Source    string    `json:"source,omitempty"`
}

// PaymentTruth is the expected attribution of one payment.
type PaymentTruth struct {
	ID        string           `json:"id"`
	Via       string           `json:"via"`
	Kind      string           `json:"kind"`
	At        time.Time        `json:"at"`
	Currency  string           `json:"currency"`
	Amount    int64            `json:"amount"`
	Refunded  int64            `json:"refunded"`
	Disputed  int64            `json:"disputed"`
	Link      string           `json:"link"`
	VisitorID string           `json:"visitor_id,omitempty"`
	SessionID string           `json:"session_id,omitempty"`
	Touches   int              `json:"touches"` // sessions of the person inside the window
	Credit    map[string]Touch `json:"credit"`  // model → credited session
}

// SubscriptionTruth counts subscription events.
type SubscriptionTruth struct {
	Created    int `json:"created"`
	Active     int `json:"active"` // at Now
	Canceled   int `json:"canceled"`
	Renewals   int `json:"renewals"`
	Upgrades   int `json:"upgrades"`
	Downgrades int `json:"downgrades"`
}

// Truth is what a server that received the whole scenario must report. Money is per original
// currency (conversion rates are the server's business). Revenue credits each payment whole to one
// channel per single-touch model; refunds and disputes leave through the channel the payment came in
// by, so for every model and currency the channels sum to Totals.
type Truth struct {
	Seed         uint64    `json:"seed"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Domain       string    `json:"domain"`
	LookbackDays int       `json:"lookback_days"`

	Visitors     int            `json:"visitors"`
	Sessions     int            `json:"sessions"`
	Bounces      int            `json:"bounces"` // sessions with exactly one pageview
	Pageviews    int            `json:"pageviews"`
	CustomEvents map[string]int `json:"custom_events"`
	Identifies   int            `json:"identifies"`
	// SessionsByChannel counts sessions by their channel.
	SessionsByChannel map[string]int `json:"sessions_by_channel"`

	Payments       int            `json:"payments"`
	PaymentsByVia  map[string]int `json:"payments_by_via"`
	PaymentsByKind map[string]int `json:"payments_by_kind"`
	PaymentsByLink map[string]int `json:"payments_by_link"`
	Refunds        int            `json:"refunds"`
	Disputes       int            `json:"disputes"`

	StripeEvents          int `json:"stripe_events"`
	StripeDeliveries      int `json:"stripe_deliveries"` // including duplicates
	ServerEvents          int `json:"server_events"`
	ServerEventDeliveries int `json:"server_event_deliveries"` // including retries

	Subscriptions SubscriptionTruth `json:"subscriptions"`

	Totals map[string]Amounts `json:"totals"` // currency → money
	// Revenue is model → channel → currency → money.
	Revenue        map[string]map[string]map[string]Amounts `json:"revenue"`
	PaymentDetails []PaymentTruth                           `json:"payment_details"`
}

// Truth computes the expected results of the scenario.
func (s *Scenario) Truth() *Truth {
	o := s.Options
	t := &Truth{Seed: o.Seed, From: o.Now.AddDate(0, 0, -o.Days), To: o.Now, Domain: o.Domain, LookbackDays: o.LookbackDays,
		CustomEvents: map[string]int{}, SessionsByChannel: map[string]int{}, PaymentsByVia: map[string]int{},
		PaymentsByKind: map[string]int{}, PaymentsByLink: map[string]int{}, Totals: map[string]Amounts{},
		Revenue: map[string]map[string]map[string]Amounts{}}
	seen := make([]bool, len(s.Visitors))
	// The person of each visitor: the identify e-mail when there is one.
	person := make([]string, len(s.Visitors))
	for i, v := range s.Visitors {
		person[i] = v.ID
		if v.Email != "" {
			person[i] = v.Email
		}
	}
	byPerson := map[string][]*Visit{}
	for i := range s.Visits {
		v := &s.Visits[i]
		t.Sessions++
		t.SessionsByChannel[v.Channel]++
		pv := v.Pageviews()
		t.Pageviews += pv
		if pv == 1 {
			t.Bounces++
		}
		if pv > 0 {
			seen[v.Visitor] = true
		}
		for _, e := range v.Events {
			switch e.Name {
			case tributary.PageviewName:
			case "identify":
				t.Identifies++
			default:
				t.CustomEvents[e.Name]++
			}
		}
		p := person[v.Visitor]
		byPerson[p] = append(byPerson[p], v)
	}
	for _, ok := range seen {
		if ok {
			t.Visitors++
		}
	}
	for _, m := range TruthModels {
		t.Revenue[m] = map[string]map[string]Amounts{}
	}
	window := time.Duration(o.LookbackDays) * 24 * time.Hour
	for i := range s.Payments {
		p := &s.Payments[i]
		t.Payments++
		t.PaymentsByVia[p.Via]++
		t.PaymentsByKind[p.Kind]++
		t.PaymentsByLink[p.Link]++
		t.Refunds += len(p.Refunds)
		if p.Dispute != nil {
			t.Disputes++
		}
		tot := t.Totals[p.Currency]
		tot.add(p)
		t.Totals[p.Currency] = tot
		pt := PaymentTruth{ID: p.ID, Via: p.Via, Kind: p.Kind, At: p.At, Currency: p.Currency, Amount: p.Amount,
			Refunded: p.Refunded(), Disputed: p.Disputed(), Link: p.Link, SessionID: p.SessionID, Credit: map[string]Touch{}}
		if p.Visitor >= 0 {
			pt.VisitorID = s.Visitors[p.Visitor].ID
		}
		var touches []*Visit
		if p.Visitor >= 0 {
			for _, v := range byPerson[person[p.Visitor]] {
				if !v.Start.Before(p.At.Add(-window)) && !v.Start.After(p.At) {
					touches = append(touches, v)
				}
			}
		}
		pt.Touches = len(touches)
		sort.SliceStable(touches, func(a, b int) bool {
			if !touches[a].Start.Equal(touches[b].Start) {
				return touches[a].Start.Before(touches[b].Start)
			}
			return touches[a].SessionID < touches[b].SessionID
		})
		for _, m := range TruthModels {
			var tc Touch
			switch {
			case p.Visitor < 0:
				tc = Touch{Channel: p.Channel, Source: p.UTMSource}
			case len(touches) == 0:
				tc = Touch{Channel: NoTouchpoint}
			default:
				v := touches[len(touches)-1]
				switch m {
				case ModelFirstTouch:
					v = touches[0]
				case ModelLastNonDirect:
					for k := len(touches) - 1; k >= 0; k-- {
						if touches[k].Channel != chDirect {
							v = touches[k]
							break
						}
					}
				}
				tc = Touch{SessionID: v.SessionID, Start: v.Start, Channel: v.Channel, Source: v.Source}
			}
			pt.Credit[m] = tc
			byCh := t.Revenue[m][tc.Channel]
			if byCh == nil {
				byCh = map[string]Amounts{}
				t.Revenue[m][tc.Channel] = byCh
			}
			a := byCh[p.Currency]
			a.add(p)
			byCh[p.Currency] = a
		}
		t.PaymentDetails = append(t.PaymentDetails, pt)
	}
	t.StripeDeliveries = len(s.Webhooks)
	for _, w := range s.Webhooks {
		if !w.Duplicate {
			t.StripeEvents++
		}
	}
	t.ServerEventDeliveries = len(s.ServerEvents)
	for _, e := range s.ServerEvents {
		if !e.Duplicate {
			t.ServerEvents++
		}
	}
	for _, sub := range s.Subscriptions {
		t.Subscriptions.Created++
		if sub.Ended.IsZero() {
			t.Subscriptions.Active++
		} else {
			t.Subscriptions.Canceled++
		}
		t.Subscriptions.Renewals += len(sub.Periods) - 1
		for _, c := range sub.Changes {
			if plans[c.To].amounts[sub.Currency] > plans[c.From].amounts[sub.Currency] {
				t.Subscriptions.Upgrades++
			} else {
				t.Subscriptions.Downgrades++
			}
		}
	}
	return t
}

// WriteJSON writes the truth as indented JSON (map keys sorted, so equal truths give equal bytes).
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("loadgen: write truth: %w", err)
	}
	return nil
}
