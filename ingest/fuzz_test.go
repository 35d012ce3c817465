package ingest

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tributary/tributary"
)

type oneSite struct{ s *tributary.Site }

func (o oneSite) Site(ctx context.Context, id string) (*tributary.Site, error) {
	if id != o.s.ID {
		return nil, tributary.Errorf(tributary.ENOTFOUND, "no site")
	}
	return o.s, nil
}

// storable checks what every store relies on: valid UTF-8, no NUL, each field within its bound.
func storable(t *testing.T, what string, fields map[string]string, bound int) {
	t.Helper()
	for name, v := range fields {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 || len(v) > bound {
			t.Fatalf("%s.%s = %q (%d bytes) is not storable text within %d bytes", what, name, v, len(v), bound)
		}
	}
}

// FuzzIngestBody drives a request body and user agent through every pipeline step and checks that an
// accepted event is storable: the path from an untrusted body to a stored row. Regression inputs
// (?utm_source=%ff and friends) are in testdata/fuzz/FuzzIngestBody.
func FuzzIngestBody(f *testing.F) {
	knownDrops := map[string]bool{DropBot: true, DropUnknownSite: true, DropHostMismatch: true, DropExcluded: true, DropRateLimited: true, DropInvalid: true}
	f.Add(`{"site":"s1","name":"pageview","url":"https://shop.example/?utm_source=%ff","visitor_id":"AAAA"}`, "Mozilla/5.0 Chrome/131.0")
	f.Add(`{"site":"s1","name":"signup","url":"https://shop.example/%ff%00#/x%00","referrer":"https://ex%ffample.com/%ff","props":{"k\u0000":"v\u0000","a":1.5e300,"b":true}}`, "")
	f.Add(`{"site":"s1","name":"identify","identity":"Ann\u0000@Example.com","url":"https://www.shop.example/?gclid=%ff&utm_campaign=%c3&ref=%00"}`, "curl/8")
	f.Add(`{"site":"s1","name":"pageview","url":"https://shop.example/?utm_term=`+strings.Repeat("x", 1900)+`","screen_width":1e9}`, "Mozilla/5.0 (iPhone)")
	p := New(Options{Sites: oneSite{&tributary.Site{ID: "s1", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}}, Secret: []byte("k")})
	f.Fuzz(func(t *testing.T, body, ua string) {
		pl, err := DecodePayload([]byte(body))
		if err != nil {
			if tributary.ErrorCode(err) != tributary.EINVALID {
				t.Fatalf("decode error %v is not EINVALID", err)
			}
			return
		}
		j := &Job{Payload: pl, UserAgent: ua, IP: netip.MustParseAddr("203.0.113.7"), Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
		for _, s := range p.steps {
			if s.Name == "rate_limit" {
				continue
			}
			if reason := s.Run(context.Background(), j); reason != "" {
				if !knownDrops[reason] {
					t.Fatalf("unknown drop reason %q", reason)
				}
				return
			}
		}
		e := j.Event
		storable(t, "event", map[string]string{"name": e.Name, "visitor": e.VisitorID, "session": e.SessionID, "channel": e.Channel,
			"browser": e.Browser, "os": e.OS, "device": e.Device, "country": e.Country, "region": e.Region, "click_platform": e.ClickIDPlatform}, tributary.MaxEventName)
		storable(t, "event", map[string]string{"utm_source": e.UTMSource, "utm_medium": e.UTMMedium, "utm_campaign": e.UTMCampaign,
			"utm_term": e.UTMTerm, "utm_content": e.UTMContent, "click_id": e.ClickID, "referrer_source": e.ReferrerSource}, tributary.MaxShortText)
		storable(t, "event", map[string]string{"hostname": e.Hostname, "path": e.Path, "referrer": e.Referrer}, tributary.MaxPath)
		if len(e.Props) > tributary.MaxPropsCount {
			t.Fatalf("%d props", len(e.Props))
		}
		for k, v := range e.Props {
			storable(t, "props", map[string]string{"key": k, "value": v}, tributary.MaxPropValue)
		}
		if j.Identify != nil {
			storable(t, "identity", map[string]string{"person": j.Identify.PersonID, "email": j.Identify.Email}, 254)
		}
		if e.SiteID != "s1" || e.ScreenWidth < 0 {
			t.Fatalf("event = %+v", e)
		}
	})
}
