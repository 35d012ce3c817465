package stripesim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// M is a Stripe object under construction. Values are string, int64, int, bool, nil, M, []M, []any,
// []string or map[string]string.
type M = map[string]any

// encode writes v the way Stripe's API does: "id" and "object" first, then the other keys in alphabetical
// order, two-space indented. Go's encoding/json would sort "id" among the rest, and readers of recorded
// payloads expect Stripe's order.
func encode(v any) []byte {
	var b bytes.Buffer
	write(&b, v)
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		panic("stripesim: encode: " + err.Error())
	}
	return out.Bytes()
}

func write(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		s, _ := json.Marshal(x)
		b.Write(s)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case map[string]string:
		m := M{}
		for k, s := range x {
			m[k] = s
		}
		write(b, m)
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			write(b, s)
		}
		b.WriteByte(']')
	case []M:
		b.WriteByte('[')
		for i, o := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			write(b, o)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, o := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			write(b, o)
		}
		b.WriteByte(']')
	case M:
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
			write(b, k)
			b.WriteByte(':')
			write(b, x[k])
		}
		b.WriteByte('}')
	default:
		panic("stripesim: cannot encode value of unexpected type")
	}
}
