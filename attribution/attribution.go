// Package attribution splits a payment's money between the sessions that led to it (DESIGN §4). It holds
// pure functions only: the caller loads a person's sessions, Select keeps the touchpoints inside the
// lookback window and Credit shares the amount out under one model, so that the credits of one payment
// always sum exactly to its amount.
package attribution

import (
	"sort"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Model names an attribution model, as spelled in the query API's attribution.model.
type Model string

// The attribution models.
const (
	FirstTouch    Model = "first_touch"     // all credit to the first touchpoint
	LastTouch     Model = "last_touch"      // all credit to the last touchpoint
	LastNonDirect Model = "last_non_direct" // all credit to the last non-direct touchpoint (the default)
	Linear        Model = "linear"          // equal shares
	TimeDecay     Model = "time_decay"      // weight 2^(-Δt/HalfLife), Δt = payment time − touch start
	PositionBased Model = "position_based"  // 40% first, 40% last, 20% shared by the touches between
)

// DefaultModel is used when a query names no model. Last non-direct is the industry default because a
// returning visitor typing the URL should not take the credit from the campaign that found them.
const DefaultModel = LastNonDirect

// DefaultLookbackDays is how far before a payment a session still counts as a touchpoint.
const DefaultLookbackDays = 30

// MaxLookbackDays bounds lookback_days: visitor ids live a year, so older sessions cannot be linked anyway.
const MaxLookbackDays = 365

// HalfLife is the time-decay half-life: a touch a week older than another earns half its weight.
const HalfLife = 7 * 24 * time.Hour

// DirectChannel is the channel name of visits without referrer or campaign.
const DirectChannel = "Direct"

// Models lists every model, the default first.
var Models = []Model{LastNonDirect, FirstTouch, LastTouch, Linear, TimeDecay, PositionBased}

// Valid reports whether m is one of Models.
func (m Model) Valid() bool {
	for _, v := range Models {
		if m == v {
			return true
		}
	}
	return false
}

// ParseModel reads a model name from user input. Case and surrounding blanks are ignored; an empty name
// is DefaultModel. Anything else is an EINVALID error on the field "attribution.model" that lists the
// valid names.
func ParseModel(s string) (Model, error) {
	m := Model(strings.ToLower(strings.TrimSpace(s)))
	if m == "" {
		return DefaultModel, nil
	}
	if m.Valid() {
		return m, nil
	}
	names := make([]string, len(Models))
	for i, v := range Models {
		names[i] = string(v)
	}
	return "", tributary.FieldError("attribution.model", "attribution model %q is unknown; use one of %s",
		s, strings.Join(names, ", "))
}

// Lookback turns the query API's lookback_days into a window: 0 means DefaultLookbackDays, 1 to
// MaxLookbackDays are taken as given, anything else is an EINVALID error on "attribution.lookback_days".
func Lookback(days int) (time.Duration, error) {
	if days == 0 {
		days = DefaultLookbackDays
	}
	if days < 1 || days > MaxLookbackDays {
		return 0, tributary.FieldError("attribution.lookback_days",
			"lookback_days must be between 1 and %d, got %d", MaxLookbackDays, days)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// Touchpoint is one session of the paying person, with the dimensions reports group credit by.
type Touchpoint struct {
	SessionID string
	Start     time.Time
	Channel   string
	Source    string
	// Direct marks a visit without referrer or campaign. A touch whose Channel is DirectChannel counts as
	// direct too, so callers may set either.
	Direct bool
	// Dims carries further dimension values (campaign, landing page, country, …) through to the report.
	Dims map[string]string
}

// IsDirect reports whether t is a direct visit.
func (t *Touchpoint) IsDirect() bool {
	return t.Direct || strings.EqualFold(t.Channel, DirectChannel)
}

// IsDirectChannel reports whether a visit of channel ch is direct: no channel, or DirectChannel.
func IsDirectChannel(ch string) bool { return ch == "" || strings.EqualFold(ch, DirectChannel) }

// Select returns the touchpoints whose Start lies in [paidAt−lookback, paidAt], oldest first; equal
// starts are ordered by SessionID, then by input position. A lookback ≤ 0 means DefaultLookbackDays.
// touches is not modified.
func Select(touches []Touchpoint, paidAt time.Time, lookback time.Duration) []Touchpoint {
	if lookback <= 0 {
		lookback = DefaultLookbackDays * 24 * time.Hour
	}
	from := paidAt.Add(-lookback)
	out := make([]Touchpoint, 0, len(touches))
	for _, t := range touches {
		if !t.Start.Before(from) && !t.Start.After(paidAt) {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return touchLess(&out[i], &out[j]) })
	return out
}

func touchLess(a, b *Touchpoint) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	return a.SessionID < b.SessionID
}
