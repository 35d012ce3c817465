package stripesim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// all is every flow of every version, built once: the catalogue is deterministic.
var all = func() map[string][]Flow {
	m := map[string][]Flow{}
	for _, v := range Versions {
		m[v] = Flows(v)
	}
	return m
}()

func find(t *testing.T, version, name string) Flow {
	t.Helper()
	for _, f := range all[version] {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no flow %s in %s", name, version)
	return Flow{}
}

var decodedEvents = map[string]jmap{}

// event decodes a delivery once for all tests; event ids are unique across flows and versions.
func event(t *testing.T, e Event) jmap {
	t.Helper()
	if m, ok := decodedEvents[e.ID]; ok {
		return m
	}
	m := decode(t, e.Raw)
	decodedEvents[e.ID] = m
	return m
}

func decode(t *testing.T, raw []byte) jmap {
	t.Helper()
	var m jmap
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, raw)
	}
	return m
}

func TestDeterministic(t *testing.T) {
	for _, v := range Versions {
		again := Flows(v)
		for i, f := range all[v] {
			g := again[i]
			if len(f.Events) != len(g.Events) {
				t.Fatalf("%s %s: %d events then %d", v, f.Name, len(f.Events), len(g.Events))
			}
			for j := range f.Events {
				if !bytes.Equal(f.Events[j].Raw, g.Events[j].Raw) {
					t.Fatalf("%s %s: event %d differs between two calls", v, f.Name, j)
				}
			}
		}
	}
}

func TestCatalogueComplete(t *testing.T) {
	want := []string{"checkout_metadata", "payment_link_client_reference", "bare_payment_intent", "refund_partial",
		"refund_partial_multiple", "refund_full", "refund_before_charge_event", "refund_failed", "refund_returned",
		"refund_canceled", "dispute_lost", "dispute_won", "subscription_checkout_renewals",
		"subscription_upgrade_proration", "subscription_downgrade", "subscription_cancel",
		"subscription_failed_renewal_retried", "subscription_trial", "subscription_yearly",
		"subscription_100_off_invoice", "async_payment_succeeded", "async_payment_failed", "partial_capture",
		"zero_decimal_jpy", "three_decimal_bhd", "three_decimal_kwd", "foreign_currency_eur"}
	have := map[string]bool{}
	for _, n := range Names() {
		if have[n] {
			t.Errorf("flow %s twice", n)
		}
		have[n] = true
	}
	for _, n := range want {
		if !have[n] {
			t.Errorf("missing flow %s", n)
		}
	}
	for _, v := range []string{"2020-08-27", "2022-11-15", "2023-10-16", "2025-03-31.basil"} {
		if _, ok := all[v]; !ok {
			t.Errorf("version %s not simulated", v)
		}
	}
}

// TestEnvelope checks what every delivery must satisfy whatever the flow: a well-formed event of the
// flow's version and mode, unique ids, increasing stamps, and objects' own stamps not after the event.
func TestEnvelope(t *testing.T) {
	for _, v := range Versions {
		ids := map[string]string{}
		for _, f := range all[v] {
			var last int64
			for i, e := range f.Events {
				m := event(t, e)
				where := v + " " + f.Name + " #" + itoa(int64(i)) + " " + e.Type
				if prev, dup := ids[e.ID]; dup {
					t.Errorf("%s: event id %s also in %s", where, e.ID, prev)
				}
				ids[e.ID] = f.Name
				if !strings.HasPrefix(e.ID, "evt_") || m["id"] != e.ID || m["object"] != "event" ||
					m["type"] != e.Type || m["api_version"] != v || m["livemode"] != f.Livemode {
					t.Errorf("%s: envelope does not match the Event: %v %v %v %v", where, m["id"], m["type"], m["api_version"], m["livemode"])
				}
				created, _ := m["created"].(json.Number).Int64()
				if created != e.Created.Unix() {
					t.Errorf("%s: created %d, Event.Created %d", where, created, e.Created.Unix())
				}
				if created <= last {
					t.Errorf("%s: created %d not after the previous event's %d", where, created, last)
				}
				last = created
				obj := m["data"].(jmap)["object"].(jmap)
				if oc, ok := obj["created"].(json.Number); ok {
					if n, _ := oc.Int64(); n > created {
						t.Errorf("%s: object created %d after its event %d", where, n, created)
					}
				}
				if lm, ok := obj["livemode"]; ok && lm != f.Livemode {
					t.Errorf("%s: object livemode %v in a flow of livemode %v", where, lm, f.Livemode)
				}
				if strings.HasSuffix(e.Type, ".updated") && e.Type != "charge.refund.updated" {
					if _, ok := m["data"].(jmap)["previous_attributes"]; !ok {
						t.Errorf("%s: an update without previous_attributes", where)
					}
				}
				for _, x := range e.Reveals {
					if x.Amount <= 0 || x.Currency != f.Truth.Currency || x.Ref == "" {
						t.Errorf("%s: bad fact %+v", where, x)
					}
				}
			}
			if !bytes.Contains(f.Events[0].Raw, []byte(`"api_version": "`+v+`"`)) {
				t.Errorf("%s %s: api_version not written as Stripe writes it", v, f.Name)
			}
		}
	}
}

// TestTruth: with every event type selected, an endpoint can know everything, so Expect equals the ground
// truth, which the simulator computes from its final state rather than from the reveals.
func TestTruth(t *testing.T) {
	allTypes := Selections()["all"]
	for _, v := range Versions {
		for _, f := range all[v] {
			if got := f.Expect(f.Select(allTypes)); got != f.Truth {
				t.Errorf("%s %s: Expect(all) = %+v, truth %+v", v, f.Name, got, f.Truth)
			}
		}
	}
}

func TestTruthFigures(t *testing.T) {
	cases := []struct {
		name  string
		truth Totals
		mrr   map[string]int64
		final int64
	}{
		{"checkout_metadata", Totals{"USD", 4900, 0, 0, 1}, nil, 0},
		{"repeat_customer", Totals{"USD", 5900 + 2400, 0, 0, 2}, nil, 0},
		{"unattributed_payment", Totals{"USD", 3900, 0, 0, 1}, nil, 0},
		{"refund_partial_multiple", Totals{"USD", 10000, 5000, 0, 1}, nil, 0},
		{"refund_failed", Totals{"USD", 5000, 0, 0, 1}, nil, 0},
		{"refund_returned", Totals{"USD", 5000, 0, 0, 1}, nil, 0},
		{"refund_canceled", Totals{"USD", 5000, 1000, 0, 1}, nil, 0},
		{"dispute_lost", Totals{"USD", 8900, 0, 8900, 1}, nil, 0},
		{"refund_then_dispute_lost", Totals{"USD", 8900, 2000, 6900, 1}, nil, 0},
		{"dispute_won", Totals{"USD", 8900, 0, 0, 1}, nil, 0},
		{"subscription_checkout_renewals", Totals{"USD", 8700, 0, 0, 3}, map[string]int64{MRRNew: 2900}, 2900},
		{"subscription_upgrade_proration", Totals{"USD", 4000 + 3000 + 10000, 0, 0, 3}, map[string]int64{MRRNew: 4000, MRRExpansion: 6000}, 10000},
		{"subscription_downgrade", Totals{"USD", 10000 + 1000, 0, 0, 2}, map[string]int64{MRRNew: 10000, MRRContraction: -6000}, 4000},
		{"subscription_cancel", Totals{"USD", 5800, 0, 0, 2}, map[string]int64{MRRNew: 2900, MRRChurn: -2900}, 0},
		{"subscription_failed_renewal_retried", Totals{"USD", 5800, 0, 0, 2}, map[string]int64{MRRNew: 2900}, 2900},
		{"subscription_reactivation", Totals{"USD", 2900 + 4900, 0, 0, 2}, map[string]int64{MRRNew: 2900, MRRChurn: -2900, MRRReactivation: 4900}, 4900},
		{"subscription_quarterly", Totals{"USD", 18000, 0, 0, 2}, map[string]int64{MRRNew: 3000}, 3000},
		{"subscription_seats_added", Totals{"USD", 3600 + 1200 + 6000, 0, 0, 3}, map[string]int64{MRRNew: 3600, MRRExpansion: 2400}, 6000},
		{"subscription_refunded_and_canceled", Totals{"USD", 4900, 4900, 0, 1}, map[string]int64{MRRNew: 4900, MRRChurn: -4900}, 0},
		{"subscription_trial", Totals{"USD", 3000, 0, 0, 1}, map[string]int64{MRRNew: 3000}, 3000},
		{"subscription_yearly", Totals{"USD", 120000, 0, 0, 1}, map[string]int64{MRRNew: 10000}, 10000},
		{"subscription_100_off_invoice", Totals{"USD", 2900, 0, 0, 1}, map[string]int64{MRRNew: 2900}, 2900},
		{"checkout_expired", Totals{"USD", 0, 0, 0, 0}, nil, 0},
		{"checkout_100_off", Totals{"USD", 0, 0, 0, 0}, nil, 0},
		{"async_payment_succeeded", Totals{"USD", 25000, 0, 0, 1}, nil, 0},
		{"async_payment_failed", Totals{"EUR", 0, 0, 0, 0}, nil, 0},
		{"partial_capture", Totals{"USD", 6000, 0, 0, 1}, nil, 0},
		{"zero_decimal_jpy", Totals{"JPY", 4980, 980, 0, 1}, nil, 0},
		{"three_decimal_bhd", Totals{"BHD", 12340, 2340, 0, 1}, nil, 0},
		{"three_decimal_kwd", Totals{"KWD", 45670, 0, 0, 1}, nil, 0},
		{"foreign_currency_eur", Totals{"EUR", 4900, 0, 0, 1}, nil, 0},
	}
	for _, v := range Versions {
		for _, c := range cases {
			f := find(t, v, c.name)
			if f.Truth != c.truth {
				t.Errorf("%s %s: truth %+v, want %+v", v, c.name, f.Truth, c.truth)
			}
			if len(f.MRR) != len(c.mrr) || f.FinalMRR != c.final {
				t.Errorf("%s %s: MRR %v final %d, want %v final %d", v, c.name, f.MRR, f.FinalMRR, c.mrr, c.final)
			}
			for k, n := range c.mrr {
				if f.MRR[k] != n {
					t.Errorf("%s %s: MRR %v, want %v", v, c.name, f.MRR, c.mrr)
				}
			}
		}
	}
}

// TestSelections pins what smaller selections can and cannot know, the losses docs/stripe.md describes.
func TestSelections(t *testing.T) {
	sel := Selections()
	only := func(types ...string) func(string) bool { return setOf(types...) }
	cases := []struct {
		version, flow string
		pick          func(string) bool
		want          Totals
	}{
		// A receives no dispute event at all.
		{"2023-10-16", "dispute_lost", sel["A"], Totals{"USD", 8900, 0, 0, 1}},
		{"2020-08-27", "dispute_lost", sel["A"], Totals{"USD", 8900, 0, 0, 1}},
		{"2023-10-16", "dispute_lost", sel["C"], Totals{"USD", 8900, 0, 8900, 1}},
		{"2023-10-16", "dispute_won", sel["C"], Totals{"USD", 8900, 0, 0, 1}},
		{"2023-10-16", "dispute_won", only("charge.dispute.created"), Totals{"USD", 0, 0, 8900, 0}},
		// charge.refunded alone: embedded refunds before 2022-11-15, cumulative amount_refunded since.
		{"2020-08-27", "refund_partial_multiple", only("charge.refunded"), Totals{"USD", 10000, 5000, 0, 1}},
		{"2023-10-16", "refund_partial_multiple", only("charge.refunded"), Totals{"USD", 10000, 5000, 0, 1}},
		{"2023-10-16", "refund_partial_multiple", only("refund.created"), Totals{"USD", 0, 5000, 0, 0}},
		// A failure the selection never hears of stays refunded for it.
		{"2023-10-16", "refund_failed", sel["A"], Totals{"USD", 5000, 3000, 0, 1}},
		{"2023-10-16", "refund_failed", sel["C"], Totals{"USD", 5000, 0, 0, 1}},
		{"2023-10-16", "refund_returned", sel["documented"], Totals{"USD", 5000, 0, 0, 1}},
		// Basil invoices carry no payment reference, yet invoice.payment_succeeded alone proves the money.
		{"2025-03-31.basil", "subscription_checkout_renewals", sel["B"], Totals{"USD", 8700, 0, 0, 3}},
		{"2026-07-29.dahlia", "subscription_checkout_renewals", only("invoice_payment.paid"), Totals{"USD", 8700, 0, 0, 3}},
		{"2025-03-31.basil", "subscription_checkout_renewals", only("checkout.session.completed"), Totals{"USD", 2900, 0, 0, 1}},
		{"2023-10-16", "subscription_failed_renewal_retried", sel["C"], Totals{"USD", 5800, 0, 0, 2}},
		// An async payment's session completes unpaid; only the later events prove the money.
		{"2023-10-16", "async_payment_succeeded", only("checkout.session.completed"), Totals{"USD", 0, 0, 0, 0}},
		{"2023-10-16", "async_payment_succeeded", sel["A"], Totals{"USD", 25000, 0, 0, 1}},
		{"2023-10-16", "async_payment_failed", sel["all"], Totals{"EUR", 0, 0, 0, 0}},
		// An uncaptured charge is no money; the capture is.
		{"2023-10-16", "partial_capture", only("charge.succeeded"), Totals{"USD", 0, 0, 0, 0}},
		{"2023-10-16", "partial_capture", only("charge.captured"), Totals{"USD", 6000, 0, 0, 1}},
		{"2023-10-16", "subscription_100_off_invoice", only("invoice.paid"), Totals{"USD", 2900, 0, 0, 1}},
		{"2023-10-16", "subscription_trial", only("invoice.paid"), Totals{"USD", 3000, 0, 0, 1}},
		{"2023-10-16", "checkout_100_off", sel["all"], Totals{"USD", 0, 0, 0, 0}},
	}
	for _, c := range cases {
		f := find(t, c.version, c.flow)
		if got := f.Expect(f.Select(c.pick)); got != c.want {
			t.Errorf("%s %s: Expect = %+v, want %+v", c.version, c.flow, got, c.want)
		}
	}
	// No selection sees more money come in than came in (refunds and disputes can look worse than they
	// ended when the selection misses their reversal).
	for _, v := range Versions {
		for _, f := range all[v] {
			for name, pick := range sel {
				got := f.Expect(f.Select(pick))
				if got.Gross > f.Truth.Gross || got.Payments > f.Truth.Payments {
					t.Errorf("%s %s %s: %+v exceeds truth %+v", v, f.Name, name, got, f.Truth)
				}
			}
		}
	}
}

func TestSelectionsNamed(t *testing.T) {
	sel := Selections()
	for _, n := range []string{"all", "documented", "A", "B", "C"} {
		if sel[n] == nil {
			t.Fatalf("selection %s missing", n)
		}
	}
	for typ, want := range map[string]bool{"charge.dispute.closed": true, "charge.refund.updated": true,
		"refund.failed": true, "invoice.paid": false, "invoice.payment_failed": true, "checkout.session.completed": false} {
		if sel["C"](typ) != want {
			t.Errorf("C(%s) = %v", typ, !want)
		}
	}
	doc, err := os.ReadFile("../../docs/stripe.md")
	if err != nil {
		t.Skip("docs/stripe.md not readable:", err)
	}
	// The list is the code block after "select these events".
	text := string(doc)
	i := strings.Index(text, "select these events")
	if i < 0 {
		t.Fatal("docs/stripe.md no longer says which events to select")
	}
	block := text[i:]
	block = block[strings.Index(block, "```")+3:]
	block = block[:strings.Index(block, "```")]
	inDoc := map[string]bool{}
	for _, typ := range strings.Fields(block) {
		inDoc[typ] = true
	}
	inList := map[string]bool{}
	for _, typ := range Documented {
		inList[typ] = true
		if !inDoc[typ] {
			t.Errorf("Documented has %s, docs/stripe.md does not", typ)
		}
	}
	for typ := range inDoc {
		if !inList[typ] {
			t.Errorf("docs/stripe.md lists %s, Documented does not", typ)
		}
	}
}

// Shapes.

type fixtureSet struct {
	newest map[string]map[string]bool // object type → keys, from the OpenAPI fixtures
	old    map[string]map[string]bool // from events of 2020-08-27 and earlier
	env    map[string]bool
}

func keysOf(m jmap) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func loadFixtures(t *testing.T) fixtureSet {
	t.Helper()
	fs := fixtureSet{newest: map[string]map[string]bool{}, old: map[string]map[string]bool{}}
	add := func(dst map[string]map[string]bool, o jmap) {
		typ, _ := o["object"].(string)
		if typ == "" {
			return
		}
		if dst[typ] == nil {
			dst[typ] = map[string]bool{}
		}
		for k := range o {
			dst[typ][k] = true
		}
		// Nested objects of their own type (line items, subscription items, embedded charges) count too.
		for _, v := range o {
			switch x := v.(type) {
			case jmap:
				if x["object"] == "list" {
					for _, d := range x["data"].([]any) {
						if dm, ok := d.(jmap); ok {
							addNested(dst, dm)
						}
					}
				}
			}
		}
	}
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := decode(t, raw)
		if strings.Contains(p, "openapi-fixtures3") {
			if strings.HasSuffix(p, "event.json") {
				fs.env = keysOf(m)
				continue
			}
			add(fs.newest, m)
			continue
		}
		data, ok := m["data"].(jmap)
		if !ok {
			data = m // pay-rails keeps event.data only
		}
		if o, ok := data["object"].(jmap); ok {
			add(fs.old, o)
		}
	}
	return fs
}

func addNested(dst map[string]map[string]bool, o jmap) {
	typ, _ := o["object"].(string)
	if typ == "" {
		return
	}
	if dst[typ] == nil {
		dst[typ] = map[string]bool{}
	}
	for k := range o {
		dst[typ][k] = true
	}
}

// documented are keys the OpenAPI spec documents for an object although the example fixture of the
// newest version leaves them out (present only in some states or on some payment methods), or that were
// added after the 2020 recordings.
var documented = map[string][]string{
	"refund":           {"failure_reason", "failure_balance_transaction", "destination_details"},
	"charge":           {"failure_balance_transaction"},
	"payment_intent":   {"amount_details", "latest_charge", "payment_method_configuration_details"},
	"checkout.session": {"created", "invoice", "invoice_creation", "custom_fields", "custom_text", "payment_method_collection", "shipping_cost", "shipping_details", "ui_mode", "client_secret", "payment_method_configuration_details", "saved_payment_method_options"},
	"invoice": {"amount_shipping", "application", "effective_at", "subtotal_excluding_tax", "total_excluding_tax", "issuer",
		"rendering", "from_invoice", "latest_revision", "shipping_cost", "shipping_details"},
	"subscription":      {"currency", "description", "on_behalf_of", "cancellation_details", "discounts", "application"},
	"dispute":           {"payment_method_details", "enhanced_eligibility_types", "payment_intent"},
	"subscription_item": {},
	"line_item":         {"subscription_item"}, // pre-basil subscription lines name their item
}

// eraKeys is what an object of typ may carry in version v: the newest fixture's keys for the newest
// versions, the 2020 recordings' keys for 2020-08-27, either in between; plus documented extras.
func (fs fixtureSet) eraKeys(v, typ string) map[string]bool {
	out := map[string]bool{}
	newest := !(v < "2025-09-30")
	oldest := v < "2022-08-01"
	if !oldest {
		for k := range fs.newest[typ] {
			out[k] = true
		}
	}
	if !newest {
		for k := range fs.old[typ] {
			out[k] = true
		}
	}
	if oldest && len(fs.old[typ]) == 0 {
		for k := range fs.newest[typ] {
			out[k] = true
		}
	}
	if !oldest || !newest {
		for _, k := range documented[typ] {
			out[k] = true
		}
	}
	for _, k := range documented[typ] {
		if newest && (k == "failure_reason" || k == "failure_balance_transaction") {
			out[k] = true
		}
	}
	return out
}

func TestShapesAgainstFixtures(t *testing.T) {
	fs := loadFixtures(t)
	for _, typ := range []string{"charge", "payment_intent", "checkout.session", "invoice", "invoice_payment", "refund", "dispute", "subscription", "subscription_item", "customer", "line_item"} {
		if len(fs.newest[typ]) == 0 {
			t.Fatalf("no OpenAPI fixture for %s", typ)
		}
	}
	if len(fs.env) == 0 {
		t.Fatal("no event fixture")
	}
	extra := map[string]map[string]bool{}
	checked := map[string]bool{}
	for _, v := range Versions {
		for _, f := range all[v] {
			for _, e := range f.Events {
				m := event(t, e)
				for k := range m {
					if !fs.env[k] {
						t.Errorf("%s %s %s: envelope key %s not in the fixture event", v, f.Name, e.Type, k)
					}
				}
				check := func(o jmap) {
					typ := o["object"].(string)
					checked[typ] = true
					allowed := fs.eraKeys(v, typ)
					for k := range o {
						if !allowed[k] {
							if extra[v+" "+typ] == nil {
								extra[v+" "+typ] = map[string]bool{}
							}
							extra[v+" "+typ][k] = true
						}
					}
				}
				obj := m["data"].(jmap)["object"].(jmap)
				check(obj)
				walkObjects(obj, func(o jmap) {
					if typ := o["object"].(string); len(fs.newest[typ]) > 0 || len(fs.old[typ]) > 0 {
						check(o)
					}
				})
				if prev, ok := m["data"].(jmap)["previous_attributes"].(jmap); ok {
					for k := range prev {
						if _, ok := obj[k]; !ok {
							t.Errorf("%s %s %s: previous_attributes.%s is not a key of the object", v, f.Name, e.Type, k)
						}
					}
				}
			}
		}
	}
	for _, typ := range []string{"charge", "payment_intent", "checkout.session", "invoice", "invoice_payment", "refund",
		"dispute", "subscription", "subscription_item", "customer", "line_item", "price", "balance_transaction"} {
		if !checked[typ] {
			t.Errorf("no %s object was compared with the fixtures", typ)
		}
	}
	var msgs []string
	for k, ks := range extra {
		var names []string
		for n := range ks {
			names = append(names, n)
		}
		sort.Strings(names)
		msgs = append(msgs, k+": "+strings.Join(names, ", "))
	}
	sort.Strings(msgs)
	for _, m := range msgs {
		t.Errorf("keys not in the fixtures of that era: %s", m)
	}
}

// walkObjects calls fn for every Stripe object nested in o: list items, expanded or embedded objects.
func walkObjects(o jmap, fn func(jmap)) {
	for _, v := range o {
		switch x := v.(type) {
		case jmap:
			if typ, ok := x["object"].(string); ok && typ != "list" {
				fn(x)
			}
			walkObjects(x, fn)
		case []any:
			for _, d := range x {
				if dm, ok := d.(jmap); ok {
					if typ, ok := dm["object"].(string); ok && typ != "list" {
						fn(dm)
					}
					walkObjects(dm, fn)
				}
			}
		}
	}
}

// TestVersionShapes pins the changes between versions the money core depends on.
func TestVersionShapes(t *testing.T) {
	for _, v := range Versions {
		pre1115 := v < "2022-11-15"
		basil := !(v < "2025-03-31")
		for _, f := range all[v] {
			for _, e := range f.Events {
				m := event(t, e)
				o := m["data"].(jmap)["object"].(jmap)
				where := v + " " + f.Name + " " + e.Type
				has := func(k string) bool { _, ok := o[k]; return ok }
				switch o["object"] {
				case "charge":
					if has("refunds") != pre1115 {
						t.Errorf("%s: charge refunds embedded = %v", where, has("refunds"))
					}
					if has("invoice") == basil {
						t.Errorf("%s: charge invoice field present = %v", where, has("invoice"))
					}
				case "payment_intent":
					if has("charges") != pre1115 || has("latest_charge") == pre1115 {
						t.Errorf("%s: intent charges/latest_charge wrong for the version", where)
					}
					if has("invoice") == basil {
						t.Errorf("%s: intent invoice field present = %v", where, has("invoice"))
					}
				case "invoice":
					for _, k := range []string{"payment_intent", "charge", "subscription", "paid"} {
						if has(k) == basil {
							t.Errorf("%s: invoice %s present = %v", where, k, has(k))
						}
					}
					if basil {
						sd, _ := o["parent"].(jmap)["subscription_details"].(jmap)
						if sd == nil || !strings.HasPrefix(sd["subscription"].(string), "sub_") {
							t.Errorf("%s: basil invoice without parent.subscription_details.subscription", where)
						}
					}
				case "subscription":
					if has("current_period_end") == basil {
						t.Errorf("%s: subscription current_period_end present = %v", where, has("current_period_end"))
					}
					items := o["items"].(jmap)["data"].([]any)
					for _, it := range items {
						_, ok := it.(jmap)["current_period_end"]
						if ok != basil {
							t.Errorf("%s: item current_period_end present = %v", where, ok)
						}
						pr := it.(jmap)["price"].(jmap)
						rec := pr["recurring"].(jmap)
						if pr["unit_amount"] == nil || rec["interval"] == nil || rec["interval_count"] == nil {
							t.Errorf("%s: item price lacks unit_amount/interval", where)
						}
					}
					if has("discount") == basil {
						t.Errorf("%s: subscription discount present = %v", where, has("discount"))
					}
				case "checkout.session":
					if has("invoice") == (v < "2022-08-01") {
						t.Errorf("%s: session invoice present = %v", where, has("invoice"))
					}
					if want := map[bool]string{true: "hosted_page", false: "hosted"}[!(v < "2026-03-25")]; has("ui_mode") && o["ui_mode"] != want {
						t.Errorf("%s: ui_mode %v, want %s", where, o["ui_mode"], want)
					}
				}
				walkAll(o, func(l jmap) {
					if _, ok := l["total_count"]; ok == basil {
						t.Errorf("%s: list total_count present = %v", where, ok)
					}
				})
				if e.Type == "invoice_payment.paid" {
					if !basil {
						t.Errorf("%s: invoice_payment before basil", where)
					}
					pay := o["payment"].(jmap)
					if pay["type"] != "payment_intent" || !strings.HasPrefix(pay["payment_intent"].(string), "pi_") ||
						!strings.HasPrefix(o["invoice"].(string), "in_") || o["status"] != "paid" {
						t.Errorf("%s: invoice_payment shape %v", where, o)
					}
				}
			}
		}
	}
}

// TestLinkingKeys: every flow that starts on the merchant's site carries the tracker's ids where DESIGN §4
// says they are read.
func TestLinkingKeys(t *testing.T) {
	for _, v := range Versions {
		for _, f := range all[v] {
			seen := map[string]bool{}
			for _, e := range f.Events {
				o := event(t, e)["data"].(jmap)["object"].(jmap)
				if md, ok := o["metadata"].(jmap); ok {
					for _, k := range []string{"tributary_visitor_id", "visitor_id", "visitorId"} {
						if id, ok := md[k].(string); ok {
							seen[id] = true
						}
					}
				}
				if cr, ok := o["client_reference_id"].(string); ok {
					parts := strings.Split(cr, "-")
					if len(parts) != 3 || parts[0] != "trib" || len(parts[1]) != 20 || len(parts[2]) != 20 {
						t.Errorf("%s %s: client_reference_id %q", v, f.Name, cr)
					}
					seen[parts[1]] = true
				}
			}
			switch {
			case f.Visitor == "" && len(seen) > 0:
				t.Errorf("%s %s: linking keys %v in a flow without a visitor", v, f.Name, seen)
			case f.Visitor != "" && (len(seen) != 1 || !seen[f.Visitor]):
				t.Errorf("%s %s: linking keys %v, want only %s", v, f.Name, seen, f.Visitor)
			}
			if f.Visitor == "" && f.Name != "unattributed_payment" {
				t.Errorf("%s %s: no visitor", v, f.Name)
			}
		}
	}
}

// TestEventsPerFlow pins the event types Stripe emits for the main shapes.
func TestEventsPerFlow(t *testing.T) {
	has := func(f Flow, typ string) bool {
		for _, e := range f.Events {
			if e.Type == typ {
				return true
			}
		}
		return false
	}
	for _, v := range Versions {
		co := find(t, v, "checkout_metadata")
		for _, typ := range []string{"checkout.session.completed", "payment_intent.created", "payment_intent.succeeded", "charge.succeeded"} {
			if !has(co, typ) {
				t.Errorf("%s checkout: no %s", v, typ)
			}
		}
		sub := find(t, v, "subscription_checkout_renewals")
		for _, typ := range []string{"customer.created", "customer.subscription.created", "customer.subscription.updated",
			"invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"} {
			if !has(sub, typ) {
				t.Errorf("%s subscription: no %s", v, typ)
			}
		}
		if has(sub, "invoice_payment.paid") != !(v < "2025-03-31") {
			t.Errorf("%s subscription: invoice_payment.paid emitted = %v", v, has(sub, "invoice_payment.paid"))
		}
		if !has(find(t, v, "subscription_cancel"), "customer.subscription.deleted") {
			t.Errorf("%s: cancellation without customer.subscription.deleted", v)
		}
		as := find(t, v, "async_payment_failed")
		for _, typ := range []string{"checkout.session.async_payment_failed", "charge.failed"} {
			if !has(as, typ) {
				t.Errorf("%s async failed: no %s", v, typ)
			}
		}
		rb := find(t, v, "refund_before_charge_event")
		first := map[string]int{}
		for i, e := range rb.Events {
			if _, ok := first[e.Type]; !ok {
				first[e.Type] = i
			}
		}
		if first["refund.created"] > first["charge.succeeded"] {
			t.Errorf("%s: refund_before_charge_event emits the charge first", v)
		}
	}
}

// walkAll calls fn for every list nested anywhere in o.
func walkAll(o jmap, fn func(jmap)) {
	for _, v := range o {
		switch x := v.(type) {
		case jmap:
			if x["object"] == "list" {
				fn(x)
			}
			walkAll(x, fn)
		case []any:
			for _, d := range x {
				if dm, ok := d.(jmap); ok {
					walkAll(dm, fn)
				}
			}
		}
	}
}

func BenchmarkFlows(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, v := range Versions {
			Flows(v)
		}
	}
}

// TestEncodeIsIndentedJSON: the hand-written encoder must agree with encoding/json's indentation.
func TestEncodeIsIndentedJSON(t *testing.T) {
	for _, f := range all[Versions[0]][:3] {
		for _, e := range f.Events {
			var out bytes.Buffer
			if err := json.Indent(&out, e.Raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), e.Raw) {
				t.Fatalf("%s: encoder output differs from json.Indent's", e.Type)
			}
		}
	}
	if got := string(encode(jmap{"b": "x<y", "id": "a", "object": "o", "e": []string{}, "f": jmap{}})); got !=
		"{\n  \"id\": \"a\",\n  \"object\": \"o\",\n  \"b\": \"x\\u003cy\",\n  \"e\": [],\n  \"f\": {}\n}" {
		t.Errorf("encode = %s", got)
	}
}

// TestPreviousAttributesLikeRecorded: charge.refunded's previous_attributes name the keys the 2020
// recording names, and a subscription's activation names its status as Stripe's does.
func TestPreviousAttributesLikeRecorded(t *testing.T) {
	raw, err := os.ReadFile("testdata/stripe-ruby-mock/charge.refunded.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := keysOf(decode(t, raw)["data"].(jmap)["previous_attributes"].(jmap))
	f := find(t, "2020-08-27", "refund_full")
	for _, e := range f.Events {
		if e.Type != "charge.refunded" {
			continue
		}
		prev := event(t, e)["data"].(jmap)["previous_attributes"].(jmap)
		if len(prev) != len(rec) {
			t.Errorf("previous_attributes %v, recorded %v", keysOf(prev), rec)
		}
		for k := range prev {
			if !rec[k] {
				t.Errorf("previous_attributes.%s not in the recording", k)
			}
		}
		if refunds := prev["refunds"].(jmap); len(refunds) != 2 || refunds["total_count"] == nil {
			t.Errorf("previous refunds %v, want data and total_count as recorded", refunds)
		}
	}
	f = find(t, "2023-10-16", "subscription_checkout_renewals")
	for _, e := range f.Events {
		if e.Type == "customer.subscription.updated" {
			prev := event(t, e)["data"].(jmap)["previous_attributes"].(jmap)
			if prev["status"] != "incomplete" {
				t.Errorf("first update's previous_attributes %v, want status incomplete", prev)
			}
			break
		}
	}
}
