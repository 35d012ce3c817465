// Package stripefake is a coherent stand-in for the Stripe API over stripesim's flows, for tests: the list
// endpoints serve each object's state as the API would answer it now, /v1/events the events themselves,
// and webhook endpoints can be created and deleted. It can answer 429 and 500 along the way.
package stripefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary/tributary/stripe/stripesim"
)

// Server is a coherent stand-in for the Stripe API over the simulated flows: the list endpoints
// serve each object's final state (newest first, created[gte], starting_after, limit), /v1/events the
// events themselves, and webhook endpoints can be created and deleted. Every failEvery-th request
// answers 429 (Retry-After: 0) or 500, as Stripe does under load.
type Server struct {
	t testing.TB
	// Srv serves the API; Srv.URL is the base URL to give the client.
	Srv       *httptest.Server
	objects   map[string][]listed // list path → objects, newest first
	eventList []listed
	events    []json.RawMessage
	// Requests counts the requests answered.
	Requests atomic.Int64
	// Delay, when set, slows every answer (Stripe under load).
	Delay time.Duration
	// FailEvery, when set, makes every FailEvery-th request fail (429, or 500 every other time).
	FailEvery int64
	// onRequest, when set, runs before each answer (a test cancels a context here).
	OnRequest func(n int64)
	mu        sync.Mutex
	endpoints map[string]bool
}

var listPaths = map[string]string{
	"customer": "/v1/customers", "subscription": "/v1/subscriptions", "checkout.session": "/v1/checkout/sessions",
	"payment_intent": "/v1/payment_intents", "charge": "/v1/charges", "refund": "/v1/refunds", "dispute": "/v1/disputes",
	"invoice": "/v1/invoices", "invoice_payment": "/v1/invoice_payments",
}

type listed struct {
	id      string
	created int64
	raw     json.RawMessage
	typ     string
}

func sortNewest(ls []listed) {
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].created != ls[j].created {
			return ls[i].created > ls[j].created
		}
		return ls[i].id > ls[j].id
	})
}

// New serves the final states of flows.
func New(t testing.TB, flows []stripesim.Flow) *Server {
	f := &Server{t: t, objects: map[string][]listed{}, endpoints: map[string]bool{}}
	final := map[string]json.RawMessage{}
	kinds := map[string]string{}
	var order []string
	for _, fl := range flows {
		for _, e := range fl.Events {
			f.events = append(f.events, e.Raw)
			var ev struct {
				Data struct {
					Object json.RawMessage `json:"object"`
				} `json:"data"`
			}
			if err := json.Unmarshal(e.Raw, &ev); err != nil {
				t.Fatal(err)
			}
			var head struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			}
			_ = json.Unmarshal(ev.Data.Object, &head)
			if head.ID == "" || listPaths[head.Object] == "" {
				continue
			}
			if _, ok := final[head.ID]; !ok {
				order = append(order, head.ID)
			}
			final[head.ID], kinds[head.ID] = ev.Data.Object, head.Object
		}
	}
	// The API answers a charge as it is now: its amount_refunded counts the refunds that stand (Stripe
	// sends no charge event when a refund fails later, so the last event's charge may be stale).
	standing := map[string]int64{}
	hasRefunds := map[string]bool{}
	for id, raw := range final {
		if kinds[id] != "refund" {
			continue
		}
		var rf struct {
			Charge string `json:"charge"`
			Amount int64  `json:"amount"`
			Status string `json:"status"`
		}
		_ = json.Unmarshal(raw, &rf)
		hasRefunds[rf.Charge] = true
		if rf.Status == "succeeded" || rf.Status == "pending" {
			standing[rf.Charge] += rf.Amount
		}
	}
	for id, raw := range final {
		if kinds[id] != "charge" || !hasRefunds[id] {
			continue
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		m["amount_refunded"] = standing[id]
		amount, _ := m["amount"].(float64)
		m["refunded"] = standing[id] > 0 && float64(standing[id]) >= amount
		final[id], _ = json.Marshal(m)
	}
	for _, id := range order {
		p := listPaths[kinds[id]]
		oid, c := createdOf(final[id])
		f.objects[p] = append(f.objects[p], listed{id: oid, created: c, raw: final[id]})
	}
	for p := range f.objects {
		sortNewest(f.objects[p])
	}
	for _, e := range f.events {
		var h struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Created int64  `json:"created"`
		}
		_ = json.Unmarshal(e, &h)
		f.eventList = append(f.eventList, listed{id: h.ID, created: h.Created, raw: e, typ: h.Type})
	}
	sortNewest(f.eventList)
	f.Srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Srv.Close)
	return f
}

func createdOf(raw json.RawMessage) (string, int64) {
	var h struct {
		ID      string `json:"id"`
		Created int64  `json:"created"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.ID, h.Created
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := f.Requests.Add(1)
	if f.OnRequest != nil {
		f.OnRequest(n)
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer rk_") || r.Header.Get("Stripe-Version") == "" {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`)
		return
	}
	if f.FailEvery > 0 && n%f.FailEvery == 0 {
		if n%(2*f.FailEvery) == 0 {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"error":{"type":"rate_limit_error","message":"Too many requests"}}`)
		return
	}
	_ = r.ParseForm()
	switch {
	case r.URL.Path == "/v1/account":
		// One account per key: the key's last four characters name it.
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		fmt.Fprintf(w, `{"id":"acct_%s","object":"account"}`, key[max(0, len(key)-4):])
	case r.URL.Path == "/v1/webhook_endpoints" && r.Method == http.MethodPost:
		if r.Form.Get("url") == "" || len(r.Form["enabled_events[]"]) == 0 || r.Form.Get("api_version") == "" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"url, enabled_events and api_version are required"}}`)
			return
		}
		f.mu.Lock()
		id := fmt.Sprintf("we_fake%d", len(f.endpoints)+1)
		f.endpoints[id] = true
		f.mu.Unlock()
		fmt.Fprintf(w, `{"id":%q,"object":"webhook_endpoint","url":%q,"secret":"whsec_fake_secret_0123456789"}`, id, r.Form.Get("url"))
	case strings.HasPrefix(r.URL.Path, "/v1/webhook_endpoints/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(r.URL.Path, "/v1/webhook_endpoints/")
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.endpoints[id] {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"No such webhook endpoint"}}`)
			return
		}
		delete(f.endpoints, id)
		fmt.Fprintf(w, `{"id":%q,"deleted":true}`, id)
	case r.URL.Path == "/v1/events":
		types := map[string]bool{}
		for _, t := range r.Form["types[]"] {
			types[t] = true
		}
		gt, _ := strconv.ParseInt(r.Form.Get("created[gt]"), 10, 64)
		var items []listed
		for _, e := range f.eventList {
			if e.created > gt && (len(types) == 0 || types[e.typ]) {
				items = append(items, e)
			}
		}
		f.page(w, r, items)
	default:
		items, ok := f.objects[r.URL.Path]
		if !ok && !isListPath(r.URL.Path) {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}`)
			return
		}
		gte, _ := strconv.ParseInt(r.Form.Get("created[gte]"), 10, 64)
		// Newest first: the objects created at or after gte are a prefix.
		n := sort.Search(len(items), func(i int) bool { return items[i].created < gte })
		f.page(w, r, items[:n])
	}
}

func isListPath(p string) bool {
	for _, lp := range listPaths {
		if lp == p {
			return true
		}
	}
	return false
}

// page answers a list newest first, after starting_after, at most limit.
func (f *Server) page(w http.ResponseWriter, r *http.Request, ls []listed) {
	if after := r.Form.Get("starting_after"); after != "" {
		for i := range ls {
			if ls[i].id == after {
				ls = ls[i+1:]
				break
			}
		}
	}
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	more := len(ls) > limit
	if more {
		ls = ls[:limit]
	}
	data := make([]json.RawMessage, len(ls))
	for i := range ls {
		data[i] = ls[i].raw
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "has_more": more, "url": r.URL.Path})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// LastCreated is the newest event's time of the flows.
func LastCreated(flows []stripesim.Flow) time.Time {
	var t time.Time
	for _, f := range flows {
		for _, e := range f.Events {
			if e.Created.After(t) {
				t = e.Created
			}
		}
	}
	return t
}

// HasEndpoint reports whether a webhook endpoint of that id exists.
func (f *Server) HasEndpoint(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.endpoints[id]
}

// idPattern matches the Stripe ids the simulated objects carry.
var idPattern = regexp.MustCompile(`"((?:ch|pi|cs|in|inpay|re|dp|sub|cus|evt|txn|pm|si|il|src|py|seti|sub_sched)_[A-Za-z0-9]+)"`)

// Copies returns n copies of flows whose every id is made unique per copy (suffix "c<k>"), for
// benchmarks that need many objects: references between objects stay coherent.
func Copies(flows []stripesim.Flow, n int) []stripesim.Flow {
	out := make([]stripesim.Flow, 0, len(flows)*n)
	for k := 0; k < n; k++ {
		suffix := fmt.Sprintf("c%d", k)
		for _, f := range flows {
			c := f
			c.Events = make([]stripesim.Event, len(f.Events))
			for i, e := range f.Events {
				e.Raw = idPattern.ReplaceAll(e.Raw, []byte(`"${1}`+suffix+`"`))
				c.Events[i] = e
			}
			out = append(out, c)
		}
	}
	return out
}
