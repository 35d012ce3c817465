package stripe

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// obj is a decoded Stripe object read tolerantly: every API version since 2020 differs in which fields
// exist and whether a reference is an id string or an expanded object, so fields are read by name with
// fallbacks instead of through fixed structs.
type obj map[string]any

func decodeObj(b []byte) (obj, error) {
	var o obj
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

func (o obj) str(k string) string {
	switch v := o[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// id reads a reference that is either an id string or an expanded object with an id.
func (o obj) id(k string) string {
	switch v := o[k].(type) {
	case string:
		return v
	case map[string]any:
		return obj(v).str("id")
	}
	return ""
}

// int reads an integer field; anything else (a fraction, a string, an overflow) reads as 0. Money is
// read with amount, which refuses such values instead.
func (o obj) int(k string) int64 {
	if v, ok := o[k].(json.Number); ok {
		n, err := v.Int64()
		if err == nil {
			return n
		}
	}
	return 0
}

// amount reads a money field in minor units. Stripe sends integers; a fraction (49.99), a negative
// value or one beyond tributary.MaxAmountMinor is a malformed payload and fails the delivery with a clear
// error rather than being truncated into a wrong figure.
func (o obj) amount(k string) (int64, error) {
	switch v := o[k].(type) {
	case nil:
		return 0, nil
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stripe: %s %s is not an integer amount in minor units", k, v)
		}
		if n < 0 || n > tributary.MaxAmountMinor {
			return 0, fmt.Errorf("stripe: %s %d is outside 0..%d minor units", k, n, tributary.MaxAmountMinor)
		}
		return n, nil
	}
	return 0, fmt.Errorf("stripe: %s is not a number", k)
}

func (o obj) has(k string) bool { _, ok := o[k]; return ok && o[k] != nil }

func (o obj) bool(k string) bool { b, _ := o[k].(bool); return b }

func (o obj) obj(k string) obj {
	if m, ok := o[k].(map[string]any); ok {
		return obj(m)
	}
	return nil
}

// path walks nested objects: o.path("parent", "subscription_details", "subscription").
func (o obj) path(keys ...string) obj {
	cur := o
	for _, k := range keys {
		if cur == nil {
			return nil
		}
		cur = cur.obj(k)
	}
	return cur
}

// list returns the items of a Stripe list ({"object":"list","data":[…]}) or of a plain array.
func (o obj) list(k string) []obj {
	var items []any
	switch v := o[k].(type) {
	case []any:
		items = v
	case map[string]any:
		items, _ = v["data"].([]any)
	}
	out := make([]obj, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, obj(m))
		}
	}
	return out
}

// time reads a Unix timestamp; one outside the accepted window (before tributary.EarliestEventTime, or
// more than a day ahead) reads as unknown, so a bogus date never dates money.
func (o obj) time(k string) time.Time {
	n := o.int(k)
	if n <= 0 {
		return time.Time{}
	}
	t := time.Unix(n, 0).UTC()
	if t.Before(tributary.EarliestEventTime) || t.After(time.Now().Add(24*time.Hour)) {
		return time.Time{}
	}
	return t
}

// metadata returns the object's metadata as strings.
func (o obj) metadata() map[string]string {
	m := o.obj("metadata")
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = m.str(k)
	}
	return out
}

func (o obj) currency() string { return strings.ToUpper(o.str("currency")) }
