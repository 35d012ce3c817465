// Package ingest is the browser ingestion pipeline: a payload from the tracker goes through named steps
// (validate → rate limit → bot → user agent → geo → utm/click ids → referrer/source/channel → sanitize)
// that enrich it or drop it with a reason, and a bounded batch writer carries the survivors to the
// EventStore, isolating and dropping (with a reason) any event the store refuses on its own.
package ingest

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Payload is the body of POST /api/event, as the tracker sends it.
type Payload struct {
	Site        string                     `json:"site"`
	Name        string                     `json:"name"`
	URL         string                     `json:"url"`
	Referrer    string                     `json:"referrer"`
	VisitorID   string                     `json:"visitor_id"`
	SessionID   string                     `json:"session_id"`
	Props       map[string]json.RawMessage `json:"props"`
	ScreenWidth json.Number                `json:"screen_width"`
	Identity    string                     `json:"identity"`
	// FBP is Meta's browser id (its pixel's _fbp cookie), sent by the tracker with pageviews when the
	// visitor has not declined consent.
	FBP string `json:"fbp"`
}

// Limits on what one event may carry. Values past a limit make the event invalid rather than silently
// truncated, except property values, which are cut to keep the event.
const (
	MaxBodyBytes     = 16 << 10
	MaxNameLen       = 120
	MaxURLLen        = 2048
	MaxReferrerLen   = 2048
	MaxIDLen         = 64
	MaxProps         = 30
	MaxPropKeyLen    = 64
	MaxPropValueLen  = 500
	MaxIdentityLen   = 254
	maxScreenWidth   = 100000
	identifyName     = "identify"
	clientRefMaxSize = 200
)

// propString renders a JSON scalar property as a string; objects and arrays are refused.
func propString(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("property values must be strings, numbers or booleans")
	}
}
