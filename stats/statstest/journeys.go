package statstest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/attribution"
	"github.com/tributary/tributary/stats"
)

// JourneySite holds multi-touch journeys: each paying person visits from several channels, on one or two
// devices joined by identify, some visits outside the shorter lookbacks, so the models and lookbacks give
// different answers per channel.
var JourneySite = &tributary.Site{ID: "statstest-journeys", Domain: "journeys.example", Name: "Journeys", Currency: "EUR", Timezone: "UTC", Locale: "en-US"}

type journey struct {
	payment string
	paid    time.Time
	amount  int64
	visits  []visit // of every device of the person, oldest first
}

func journeyData() ([]journey, []tributary.Event, []tributary.LedgerEntry, []tributary.Identity) {
	r := rand.New(rand.NewPCG(21, 3))
	channels := []string{"Organic Search", "Direct", "Paid Search", "Email", "Referral", "Paid Social"}
	var js []journey
	var evs []tributary.Event
	var ledger []tributary.LedgerEntry
	var ids []tributary.Identity
	for i := 0; i < 60; i++ {
		j := journey{payment: fmt.Sprintf("pj_%03d", i), paid: Now.Add(-time.Duration(2+r.IntN(26*24)) * time.Hour).Truncate(time.Minute),
			amount: int64(1000 + 7*r.IntN(3000))}
		devices := []string{fmt.Sprintf("jv%03da", i)}
		if r.IntN(3) == 0 {
			devices = append(devices, fmt.Sprintf("jv%03db", i))
		}
		n := 2 + r.IntN(4)
		for k := 0; k < n; k++ {
			// Up to 40 days before paying: some visits fall outside a 7- or 30-day lookback.
			start := j.paid.Add(-time.Duration(1+r.IntN(40*24)) * time.Hour).Truncate(time.Minute)
			v := visit{visitor: devices[r.IntN(len(devices))], session: fmt.Sprintf("js%03d-%d", i, k), channel: channels[r.IntN(len(channels))], start: start, pageviews: 1}
			j.visits = append(j.visits, v)
			evs = append(evs, tributary.Event{SiteID: JourneySite.ID, Timestamp: start, Name: tributary.PageviewName, Source: tributary.SourceBrowser,
				VisitorID: v.visitor, SessionID: v.session, Hostname: JourneySite.Domain, Path: "/", Channel: v.channel, Country: "DE", Device: "desktop"})
		}
		sort.Slice(j.visits, func(a, b int) bool { return j.visits[a].start.Before(j.visits[b].start) })
		ledger = append(ledger, tributary.LedgerEntry{ID: "pay:" + j.payment, SiteID: JourneySite.ID, Livemode: true, Kind: tributary.EntryPayment,
			PaymentID: j.payment, OccurredAt: j.paid, Amount: j.amount, Currency: "EUR", ReportingAmount: j.amount, ReportingCurrency: "EUR",
			Rate: "1", Converted: true, Source: "stripe"})
		// The payment is linked to the last device; the other joins by an identify of the same person.
		ids = append(ids, tributary.Identity{SiteID: JourneySite.ID, At: j.paid, VisitorID: devices[len(devices)-1], PaymentID: j.payment,
			LinkMethod: tributary.LinkMetadata, Source: "stripe"})
		for _, dev := range devices {
			if len(devices) > 1 {
				ids = append(ids, tributary.Identity{SiteID: JourneySite.ID, At: j.paid.Add(-time.Hour), VisitorID: dev, PersonID: fmt.Sprintf("user%03d", i), Source: "browser"})
			}
		}
		js = append(js, j)
	}
	return js, evs, ledger, ids
}

// journeys checks revenue by channel under every model and three lookbacks against the models applied to
// each person's visits by hand, and that the data separates the models.
func journeys(t *testing.T, st tributary.EventStore, eng *stats.Engine) {
	ctx := context.Background()
	js, evs, ledger, ids := journeyData()
	// Links and identities first, visits last: the touches must follow every kind of write.
	if _, err := st.InsertLedger(ctx, ledger); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdentities(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, days := range []int{7, 30, 60} {
		for _, model := range attribution.Models {
			want := map[string]int64{}
			for _, j := range js {
				var tps []attribution.Touchpoint
				for _, v := range j.visits {
					tps = append(tps, attribution.Touchpoint{SessionID: v.session, Start: v.start, Channel: v.channel, Direct: v.channel == "Direct"})
				}
				sel := attribution.Select(tps, j.paid, time.Duration(days)*24*time.Hour)
				if len(sel) == 0 {
					want["Direct"] += j.amount
					continue
				}
				for _, s := range attribution.Credit(model, sel, j.paid, j.amount) {
					if s.Amount != 0 {
						want[sel[s.Index].Channel] += s.Amount
					}
				}
			}
			body, _ := json.Marshal(map[string]any{"site_id": JourneySite.ID, "metrics": []string{"revenue"}, "dimensions": []string{"visit:channel"},
				"date_range": "30d", "limit": 100, "attribution": map[string]any{"model": string(model), "lookback_days": days}})
			pq, err := stats.ParseQuery(body, JourneySite, Now)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Run(ctx, pq)
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			got := map[string]int64{}
			for _, r := range res.Results {
				got[r.Dimensions[0]] = cents(t, r.Metrics[0].String())
			}
			for ch, w := range want {
				if w != 0 && got[ch] != w {
					t.Errorf("%s, %d days: %s = %d, want %d (got %v, want %v)", model, days, ch, got[ch], w, got, want)
					break
				}
			}
			answers[fmt.Sprint(want)] = fmt.Sprint(model, days)
		}
	}
	// 18 model × lookback pairs: the data must tell most of them apart, or the check above proves little.
	if len(answers) < 12 {
		t.Errorf("only %d distinct answers over 18 model and lookback pairs: the journeys do not separate the models", len(answers))
	}
}

// cents reads an amount in euros with its two decimals ("12.30", "-4.05") as cents, exactly.
func cents(t *testing.T, s string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	n, err := strconv.ParseInt(strings.TrimPrefix(whole, "-")+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	if strings.HasPrefix(whole, "-") {
		n = -n
	}
	return n
}
