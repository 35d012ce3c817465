package ingest

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// filled is an event with every field set to a value of its own, found by reflection, so a field
// added to tributary.Event and left out of pack fails TestRecordRoundTrip instead of being lost
// between the request and the store.
func filled(t testing.TB, seed string) tributary.Event {
	var e tributary.Event
	v := reflect.ValueOf(&e).Elem()
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString(seed + name)
		case f.Kind() == reflect.Int:
			f.SetInt(int64(1000 + i))
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 9, 30, 15, 123456789, time.UTC)))
		case f.Type() == reflect.TypeOf(map[string]string{}):
			f.Set(reflect.ValueOf(map[string]string{"plan": seed + "pro", "": "", "ünï": strings.Repeat("v", 500)}))
		default:
			t.Fatalf("tributary.Event.%s is a %s: teach pack and this test about it", name, f.Type())
		}
	}
	return e
}

// TestRecordRoundTrip checks that an event comes out of its record as it went in: every field, empty
// and long texts, timestamps far from now and in other zones (the same instant, in UTC), props.
func TestRecordRoundTrip(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		name string
		edit func(e *tributary.Event)
	}{
		{"every field", func(e *tributary.Event) {}},
		{"empty", func(e *tributary.Event) { *e = tributary.Event{} }},
		{"no props", func(e *tributary.Event) { e.Props = nil }},
		{"long and unusual texts", func(e *tributary.Event) {
			e.Path = "/" + strings.Repeat("ä/", 2000)
			e.Referrer = "x\x00y\xff"
			e.VisitorID = ""
		}},
		{"another zone", func(e *tributary.Event) { e.Timestamp = time.Date(2026, 3, 29, 2, 30, 0, 1, berlin) }},
		{"before 1970", func(e *tributary.Event) { e.Timestamp = time.Date(1901, 1, 1, 0, 0, 0, 999999999, time.UTC) }},
		{"past the nanosecond range", func(e *tributary.Event) { e.Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 5, time.UTC) }},
		{"negative width", func(e *tributary.Event) { e.ScreenWidth = -1 << 40 }},
		{"many props", func(e *tributary.Event) {
			for i := range 30 {
				e.Props[fmt.Sprint("k", i)] = fmt.Sprint(i)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := filled(t, tc.name+"/")
			tc.edit(&in)
			out := pack(&in).unpack()
			if !out.Timestamp.Equal(in.Timestamp) || out.Timestamp.Location() != time.UTC {
				t.Fatalf("timestamp %v came back as %v", in.Timestamp, out.Timestamp)
			}
			in.Timestamp, out.Timestamp = time.Time{}, time.Time{}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip changed the event:\n in  %+v\n out %+v", in, out)
			}
		})
	}
}

// FuzzRecordRoundTrip packs arbitrary texts, widths and times.
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add("s1", "/a?b", "k", "v", int64(1765100000), int64(5), 1440)
	f.Add("", "\xff\x00", "", "", int64(-62135596800), int64(0), -7)
	f.Fuzz(func(t *testing.T, site, path, k, v string, sec, nsec int64, width int) {
		in := filled(t, site)
		in.Path, in.Timestamp, in.ScreenWidth = path, time.Unix(sec, nsec).UTC(), width
		in.Props = map[string]string{k: v}
		out := pack(&in).unpack()
		if !out.Timestamp.Equal(in.Timestamp) {
			t.Fatalf("timestamp %v came back as %v", in.Timestamp, out.Timestamp)
		}
		in.Timestamp, out.Timestamp = time.Time{}, time.Time{}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("round trip changed the event:\n in  %+v\n out %+v", in, out)
		}
	})
}

// BenchmarkHeldEvent reports the heap one buffered event holds (held-B/event), as the writer holds it
// (a record) and as it held it before (the event itself, whose strings point into the request's
// allocations), for pageviews as the pipeline makes them from tracker bodies.
func BenchmarkHeldEvent(b *testing.B) {
	p := New(Options{Sites: oneSite{&tributary.Site{ID: "site_0123456789", Domain: "shop.example.com"}}, Secret: []byte("k")})
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	}
	urls := []string{"https://shop.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=black_friday_2026",
		"https://shop.example.com/blog/how-we-grew-revenue-with-attribution", "https://shop.example.com/"}
	refs := []string{"https://www.google.com/", "", "https://news.ycombinator.com/item?id=123456"}
	event := func(i int) tributary.Event {
		body := fmt.Sprintf(`{"site":"site_0123456789","name":"pageview","url":%q,"referrer":%q,"visitor_id":"v%016d","session_id":"s%016d","screen_width":1440}`,
			urls[i%3], refs[i%3], i/3, i/5)
		pl, err := DecodePayload([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		j := &Job{Payload: pl, UserAgent: uas[i%2], IP: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Now: time.Now()}
		for _, s := range p.steps {
			if r := s.Run(context.Background(), j); r != "" {
				b.Fatal(r, j.Detail)
			}
		}
		return j.Event
	}
	const n = 20000
	event(0) // the pipeline's lazily built tables are not an event's
	for _, form := range []string{"record", "event"} {
		b.Run("as="+form, func(b *testing.B) {
			for range b.N {
				var records []record
				var events []*tributary.Event
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range n {
					e := event(i)
					if form == "record" {
						records = append(records, pack(&e))
					} else {
						events = append(events, &e)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "held-B/event")
				runtime.KeepAlive(records)
				runtime.KeepAlive(events)
			}
		})
	}
}
