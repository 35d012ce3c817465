package s2s

import (
	"testing"
	"time"

	"github.com/tributary/tributary"
)

// FuzzServerEventBody drives a body through decoding, validation and the amount rules of
// POST /api/v1/events: every refusal is a coded 4xx error, and every accepted amount lies in
// [0, MaxAmountMinor] with an accepted time inside the documented window.
func FuzzServerEventBody(f *testing.F) {
	f.Add(`{"event_id":"e1","event_name":"purchase","event_type":"purchase","amount":9223372036854775807,"currency":"USD"}`)
	f.Add(`{"event_id":"e2","event_name":"purchase","event_type":"purchase","amount":-4999}`)
	f.Add(`{"event_id":"e3","event_name":"refund","event_type":"refund","amount":-9223372036854775808}`)
	f.Add(`{"event_id":"e4","event_name":"x","timestamp":"0001-01-01T00:00:00Z","metadata":{"amount":"1e300","currency":"JPY"}}`)
	f.Add(`{"event_id":"e6","event_name":"purchase","event_type":"purchase","amount":1e999999999}`)
	f.Add(`{"event_id":"e5\u0000","event_name":"sub","event_type":"subscription","customer_id":"c","interval":"week","amount":1000000000000}`)
	site := &tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	p := &Processor{Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, body string) {
		start := time.Now()
		defer func() {
			if took := time.Since(start); took > time.Second {
				t.Fatalf("took %s", took)
			}
		}()
		in, doc, err := Decode([]byte(body))
		if err == nil {
			var v *validated
			if v, err = p.validate(in, doc); err == nil {
				if v.at.Before(tributary.EarliestEventTime) || v.at.After(now.Add(MaxFuture)) {
					t.Fatalf("time %v accepted", v.at)
				}
				var m *tributary.Money
				if m, err = amountOf(v, site, nil); err == nil && m != nil {
					if m.Amount < 0 || m.Amount > tributary.MaxAmountMinor {
						t.Fatalf("amount %d accepted", m.Amount)
					}
					if mrr := monthly(m.Amount, "day"); mrr < 0 {
						t.Fatalf("monthly(%d) overflowed to %d", m.Amount, mrr)
					}
				}
			}
		}
		if err != nil {
			if c := tributary.ErrorCode(err); c != tributary.EINVALID && c != tributary.ETOOLARGE {
				t.Fatalf("error %v has code %s, want a 4xx code", err, c)
			}
		}
	})
}
