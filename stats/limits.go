package stats

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tributary/tributary"
)

// Caps on a query's filters, so that no request can make the engine (or the SQL it builds) do
// unbounded work: each is a 400 that names the cap.
const (
	// MaxFilterDepth is how deeply "and"/"or" may nest (a plain filter is depth 1).
	MaxFilterDepth = 5
	// MaxFilters is how many plain filters a query may hold in all, nested ones included.
	MaxFilters = 50
	// MaxFilterValues is how many values one filter may list.
	MaxFilterValues = 100
	// MaxRegexLen is the longest regular expression "matches" accepts, in bytes.
	MaxRegexLen = 256
	// MaxFilterValueLen is the longest value any other operator accepts, in bytes.
	MaxFilterValueLen = 2048
)

// jsonDepth returns how deeply arrays and objects nest in raw, scanning the bytes once (strings are
// skipped), so a 3,000-deep filter is refused before anything decodes it.
func jsonDepth(raw []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// checkFilterShape refuses filters nested deeper than MaxFilterDepth. A plain filter
// ["is", "visit:source", ["x"]] nests two arrays; each "and"/"or" level adds two more.
func checkFilterShape(raw json.RawMessage, field string) error {
	if jsonDepth(raw) > 2*MaxFilterDepth {
		return tributary.FieldError(field, "filters nest more than %d levels of and/or deep (the cap is MaxFilterDepth = %d)", MaxFilterDepth, MaxFilterDepth)
	}
	return nil
}

// countFilters returns the plain filters of fs, nested ones included.
func countFilters(fs []Filter) int {
	n := 0
	for _, f := range fs {
		if len(f.Children) > 0 {
			n += countFilters(f.Children)
		} else {
			n++
		}
	}
	return n
}

// checkFilterValues applies the per-filter caps: number of values, and their lengths (regular
// expressions shorter).
func checkFilterValues(field, op string, vals []string) error {
	if len(vals) > MaxFilterValues {
		return tributary.FieldError(field, "a filter lists at most %d values, got %d", MaxFilterValues, len(vals))
	}
	limit := MaxFilterValueLen
	if op == "matches" {
		limit = MaxRegexLen
	}
	for _, v := range vals {
		if len(v) > limit {
			if op == "matches" {
				return tributary.FieldError(field, "a regular expression is at most %d bytes, got %d", MaxRegexLen, len(v))
			}
			return tributary.FieldError(field, "a filter value is at most %d bytes, got %d", MaxFilterValueLen, len(v))
		}
	}
	return nil
}

// checkPropDimension validates "event:props:NAME": the name is 1 to 64 bytes of text, without
// control characters or the characters JSON paths give a meaning to ("*", quotes, backslash), so it
// always reads one property: "event:props:*" is a 400, not a wildcard.
func checkPropDimension(field, dim string) error {
	name := strings.TrimPrefix(dim, "event:props:")
	if name == "" || len(name) > tributary.MaxPropKey || !utf8.ValidString(name) {
		return tributary.FieldError(field, "%q: a property name is 1 to %d bytes of text", dim, tributary.MaxPropKey)
	}
	for _, r := range name {
		if r == '*' || r == '"' || r == '\'' || r == '\\' || unicode.IsControl(r) {
			return tributary.FieldError(field, "%q: a property name cannot contain %q", dim, r)
		}
	}
	return nil
}

func filterField(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }
