package stripesim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// jmap is a Stripe object under construction. Values are string, int64, int, bool, nil, jmap, []jmap, []any,
// []string or map[string]string.
type jmap = map[string]any

// encode writes v the way Stripe's API does: "id" and "object" first, then the other keys in alphabetical
// order, two-space indented. Go's encoding/json would sort "id" among the rest, and readers of recorded
// payloads expect Stripe's order.
func encode(v any) []byte {
	var b bytes.Buffer
	write(&b, v, 0)
	return b.Bytes()
}

// compact is an unindented encoding, enough to compare two values.
func compact(v any) []byte {
	var b bytes.Buffer
	write(&b, v, -1)
	return b.Bytes()
}

// newline starts a line at depth; a negative depth writes compactly.
func newline(b *bytes.Buffer, depth int) {
	if depth < 0 {
		return
	}
	b.WriteByte('\n')
	for i := 0; i < depth; i++ {
		b.WriteString("  ")
	}
}

func deeper(depth int) int {
	if depth < 0 {
		return depth
	}
	return depth + 1
}

func writeSeq(b *bytes.Buffer, n, depth int, item func(i int)) {
	if n == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		newline(b, deeper(depth))
		item(i)
	}
	newline(b, depth)
	b.WriteByte(']')
}

func write(b *bytes.Buffer, v any, depth int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		if plain(x) {
			b.WriteByte('"')
			b.WriteString(x)
			b.WriteByte('"')
			return
		}
		s, _ := json.Marshal(x)
		b.Write(s)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case map[string]string:
		m := jmap{}
		for k, s := range x {
			m[k] = s
		}
		write(b, m, depth)
	case []string:
		writeSeq(b, len(x), depth, func(i int) { write(b, x[i], deeper(depth)) })
	case []jmap:
		writeSeq(b, len(x), depth, func(i int) { write(b, x[i], deeper(depth)) })
	case []any:
		writeSeq(b, len(x), depth, func(i int) { write(b, x[i], deeper(depth)) })
	case jmap:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			if k != "id" && k != "object" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if _, ok := x["object"]; ok {
			keys = append([]string{"object"}, keys...)
		}
		if _, ok := x["id"]; ok {
			keys = append([]string{"id"}, keys...)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(b, deeper(depth))
			write(b, k, -1)
			b.WriteByte(':')
			if depth >= 0 {
				b.WriteByte(' ')
			}
			write(b, x[k], deeper(depth))
		}
		newline(b, depth)
		b.WriteByte('}')
	default:
		panic("stripesim: cannot encode value of unexpected type")
	}
}

// plain reports whether s needs no JSON escaping, which holds for nearly every string here.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
