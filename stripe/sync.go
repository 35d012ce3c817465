package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/reconcile"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/stripe/stripeapi"
)

// Import ranges a user may choose, in months (0: everything).
var ImportMonths = []int{1, 3, 12, 24, 0}

// importTypes are the list endpoints an import reads, in order: customers and subscriptions first, so
// payments find their customer's e-mail and subscription metadata.
var importTypes = []struct{ name, path string }{
	{"customers", "/v1/customers"},
	{"subscriptions", "/v1/subscriptions"},
	{"checkout_sessions", "/v1/checkout/sessions"},
	{"payment_intents", "/v1/payment_intents"},
	{"charges", "/v1/charges"},
	{"refunds", "/v1/refunds"},
	{"disputes", "/v1/disputes"},
	{"invoices", "/v1/invoices"},
	{"invoice_payments", "/v1/invoice_payments"},
}

// Permissions lists what the restricted key needs, for the Stripe page and the docs.
var Permissions = []string{
	"Charges: Read", "Checkout Sessions: Read", "Customers: Read", "Disputes: Read", "Events: Read", "Invoices: Read",
	"Payment Intents: Read", "Refunds: Read", "Subscriptions: Read", "Prices and Products: Read", "Webhook Endpoints: Write",
}

// Account is a Stripe account connected to a site with a restricted key.
type Account struct {
	ID       string `json:"id"`
	SiteID   string `json:"site_id"`
	Mode     string `json:"mode"`
	KeyHint  string `json:"key_hint"` // the key's last four characters
	keySeal  string
	Endpoint string `json:"endpoint_id,omitempty"` // Tributary's endpoint (we_…)
	// StripeEndpoint is the webhook endpoint created in Stripe (we_… on Stripe's side), empty when the
	// base URL is not reachable from the internet: then ListenCommand says how to forward events.
	StripeEndpoint string    `json:"stripe_endpoint_id,omitempty"`
	ListenCommand  string    `json:"listen_command,omitempty"`
	Warning        string    `json:"warning,omitempty"`
	ConnectedAt    time.Time `json:"connected_at"`
	// Default: the first site the account was connected to. Payments that name no site (metadata
	// tributary_site, websiteId or client_id) count on the default site only.
	Default      bool   `json:"default"`
	Disconnected bool   `json:"disconnected,omitempty"`
	Import       Import `json:"import"`
	// LastEventAt is the newest event the Events-API catch-up has seen; LastReconciled when the account
	// was last re-listed; Healed how many objects those runs found that changed money.
	LastEventAt    time.Time `json:"last_event_at,omitzero"`
	LastReconciled time.Time `json:"last_reconciled,omitzero"`
	Healed         int       `json:"healed"`
	LastError      string    `json:"last_error,omitempty"`
	// Epoch changes with every user action (re-import, disconnect): a sync run that read the account
	// before one does not write its older state over it.
	Epoch int `json:"epoch"`
}

// Import is the progress of a history import; it resumes from its checkpoints after a restart.
type Import struct {
	Months   int                   `json:"months"` // 0: everything
	Since    time.Time             `json:"since,omitzero"`
	Started  time.Time             `json:"started,omitzero"`
	Finished time.Time             `json:"finished,omitzero"`
	Objects  int                   `json:"objects"`
	Types    map[string]*TypeState `json:"types"`
	Errors   int                   `json:"errors"`
	Rate     float64               `json:"objects_per_second"`
}

// TypeState is one list endpoint's checkpoint.
type TypeState struct {
	Cursor string `json:"cursor,omitempty"`
	Done   bool   `json:"done"`
	Count  int    `json:"count"`
}

// accountDoc is how an account is stored (the key sealed).
type accountDoc struct {
	Account
	KeySeal string `json:"key_seal"`
}

// Syncer connects Stripe accounts, imports their history and heals gaps through the Events API.
type Syncer struct {
	Meta      tributary.MetaStore
	Processor *Processor
	Box       *secretbox.Box
	// APIURL is Stripe's API or a stand-in.
	APIURL string
	// BaseURL is this server's public URL (--base-url); endpoints are created at BaseURL/stripe/webhook/ID.
	// Empty: Connect's base, the URL the request came to.
	BaseURL string
	Logger  *slog.Logger
	Now     func() time.Time
	// Client, when set, builds the API client for a key (tests set the rate and sleeps).
	Client func(key string) *stripeapi.Client

	mu       sync.Mutex // one sync run at a time
	accMu    sync.Mutex // one write of an account document at a time
	wakeOnce sync.Once
	wake     chan struct{}
}

// ImportTypeCount is how many list endpoints an import reads.
func ImportTypeCount() int { return len(importTypes) }

// Wake makes Run start its next round now (a new connection or import).
func (s *Syncer) Wake() {
	select {
	case s.wakeChan() <- struct{}{}:
	default:
	}
}

func (s *Syncer) wakeChan() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Syncer) client(key string) *stripeapi.Client {
	if s.Client != nil {
		return s.Client(key)
	}
	return &stripeapi.Client{BaseURL: s.APIURL, Key: key}
}

const accountPrefix = "account:"

// publicBase reports whether base is reachable from the internet (not loopback, private or empty).
func publicBase(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
	}
	return true
}

// Connect checks key, learns its account and mode, creates Tributary's webhook endpoint in Stripe (or
// says how to forward events when this server is not reachable from the internet) and schedules the
// history import of the last months (0: everything).
// base is this server's public URL as the request saw it when --base-url is not set.
func (s *Syncer) Connect(ctx context.Context, site *tributary.Site, key string, months int, base string) (*Account, error) {
	if s.BaseURL != "" {
		base = s.BaseURL
	}
	mode, err := stripeapi.KeyMode(key)
	if err != nil {
		return nil, err
	}
	if s.Box == nil {
		return nil, tributary.Errorf(tributary.ECONFLICT, "this server has no key to seal Stripe keys with: start every node with the same --secret-key (64 hex characters, e.g. from openssl rand -hex 32)")
	}
	if !validMonths(months) {
		return nil, tributary.FieldError("import_months", "import_months must be one of 1, 3, 12, 24 or 0 (everything)")
	}
	key = strings.TrimSpace(key)
	c := s.client(key)
	acctID := ""
	if a, err := c.Account(ctx); err == nil && a.ID != "" {
		acctID = a.ID
	} else if err != nil && !stripeapi.Unauthorized(err) {
		return nil, stripeError("check the key", err)
	}
	// The key must read what the import needs: one small list call proves it before anything is created.
	if _, err := c.List(ctx, "/v1/charges", time.Time{}, "", url.Values{"limit": {"1"}}); err != nil {
		return nil, stripeError("read charges with the key", err)
	}
	if acctID == "" {
		sum := sha256.Sum256([]byte(key))
		acctID = "key_" + hex.EncodeToString(sum[:6]) // the key may not read the account: name it by the key
	}
	if existing, err := s.Account(ctx, site.ID, acctID); err == nil && !existing.Disconnected {
		return nil, tributary.Errorf(tributary.ECONFLICT, "Stripe account %s is already connected to this site", acctID)
	}
	defaultSite, err := s.defaultSite(ctx, acctID, site.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ep := &tributary.StripeEndpoint{ID: "we_" + tributary.RandomID(24), SiteID: site.ID, Mode: mode, CreatedAt: now, UpdatedAt: now}
	a := &Account{ID: acctID, SiteID: site.ID, Mode: mode, KeyHint: key[len(key)-4:], Endpoint: ep.ID, ConnectedAt: now,
		Import: Import{Months: months, Types: map[string]*TypeState{}}, Default: defaultSite == ""}
	if !a.Default {
		// This site shares the account with defaultSite: it takes only the payments that name it.
		if err := s.Meta.PutStripeObject(ctx, &tributary.StripeObject{SiteID: site.ID, ID: reconcile.Secondary, Type: "route", EventCreated: now,
			Data: []byte(`{"default_site":"` + defaultSite + `"}`)}); err != nil {
			return nil, err
		}
		a.Warning = strings.TrimSpace(a.Warning + " This Stripe account also feeds site " + defaultSite + ": payments count here only when their metadata names this site (tributary_site: " + site.ID + ").")
	}
	if months > 0 {
		a.Import.Since = now.AddDate(0, -months, 0)
	}
	hookURL := strings.TrimRight(base, "/") + "/stripe/webhook/" + ep.ID
	if publicBase(base) {
		created, err := c.CreateEndpoint(ctx, hookURL, Events(), "Tributary "+site.Domain)
		if err != nil {
			return nil, stripeError("create the webhook endpoint", err)
		}
		a.StripeEndpoint = created.ID
		if created.Secret != "" {
			ep.Secrets = []string{created.Secret}
		} else {
			a.Warning = "Stripe did not return the new endpoint's signing secret: copy it from the Stripe dashboard (Developers → Webhooks) into the endpoint below"
		}
	} else {
		target := hookURL
		if base == "" {
			target = "http://localhost:8080/stripe/webhook/" + ep.ID
		}
		a.Warning = "this server's --base-url is not reachable from the internet, so Stripe cannot send it events: for local development, forward them with the Stripe CLI and paste the whsec_ secret it prints into the endpoint"
		a.ListenCommand = "stripe listen --events " + strings.Join(Events(), ",") + " --forward-to " + target
	}
	if err := s.Meta.CreateStripeEndpoint(ctx, ep); err != nil {
		return nil, err
	}
	seal, err := s.Box.Seal("stripe-key:"+site.ID+":"+acctID, key)
	if err != nil {
		return nil, err
	}
	a.keySeal = seal
	return a, s.put(ctx, a)
}

// defaultSite returns the site other than siteID the account is connected to (its default), "" when none.
func (s *Syncer) defaultSite(ctx context.Context, acctID, siteID string) (string, error) {
	sites, err := s.Meta.Sites(ctx)
	if err != nil {
		return "", err
	}
	for _, other := range sites {
		if other.ID == siteID {
			continue
		}
		a, err := s.Account(ctx, other.ID, acctID)
		if err == nil && !a.Disconnected && a.Default {
			return other.ID, nil
		}
	}
	return "", nil
}

func validMonths(m int) bool {
	for _, v := range ImportMonths {
		if v == m {
			return true
		}
	}
	return false
}

// stripeError turns an API failure into an error the user can act on.
func stripeError(what string, err error) error {
	var e *stripeapi.Error
	if errors.As(err, &e) {
		switch {
		case e.Status == 401:
			return tributary.FieldError("key", "Stripe refused the key (%s): check it was copied whole and is not revoked", e.Message)
		case e.Status == 403:
			return tributary.FieldError("key", "the key lacks a permission to %s (%s): grant the permissions listed on the Stripe page", what, e.Message)
		case e.Status < 500:
			return tributary.Errorf(tributary.EINVALID, "Stripe refused to %s: %s", what, e.Message)
		}
	}
	return &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "Stripe could not be reached to " + what + "; try again", Err: err}
}

// Events lists the event types Tributary's own endpoints receive: exactly those the processor uses.
func Events() []string {
	var out []string
	for t := range handled {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// errStale stops a sync step whose account was changed by the user meanwhile.
var errStale = errors.New("stripe: the account changed during the sync; the next run takes it up")

// put writes the account as a user action left it: a new epoch.
func (s *Syncer) put(ctx context.Context, a *Account) error {
	s.accMu.Lock()
	defer s.accMu.Unlock()
	if cur, err := s.Account(ctx, a.SiteID, a.ID); err == nil {
		a.Epoch = cur.Epoch + 1
	}
	return s.write(ctx, a)
}

// save writes the account as a sync step left it, unless a user action changed it since the step read it.
func (s *Syncer) save(ctx context.Context, a *Account) error {
	s.accMu.Lock()
	defer s.accMu.Unlock()
	cur, err := s.Account(ctx, a.SiteID, a.ID)
	if err != nil {
		return err
	}
	if cur.Epoch != a.Epoch || cur.Disconnected {
		return errStale
	}
	return s.write(ctx, a)
}

func (s *Syncer) write(ctx context.Context, a *Account) error {
	b, err := json.Marshal(accountDoc{Account: *a, KeySeal: a.keySeal})
	if err != nil {
		return err
	}
	return s.Meta.PutStripeObject(ctx, &tributary.StripeObject{SiteID: a.SiteID, ID: accountPrefix + a.ID, Type: "stripe_account",
		Livemode: a.Mode == tributary.ModeLive, EventCreated: s.now(), Data: b})
}

func decodeAccount(o *tributary.StripeObject) (*Account, error) {
	var d accountDoc
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return nil, fmt.Errorf("stripe: decode account %s: %w", o.ID, err)
	}
	a := d.Account
	a.keySeal = d.KeySeal
	if a.Import.Types == nil {
		a.Import.Types = map[string]*TypeState{}
	}
	return &a, nil
}

// Account returns one connected account of a site.
func (s *Syncer) Account(ctx context.Context, siteID, id string) (*Account, error) {
	o, err := s.Meta.StripeObject(ctx, siteID, accountPrefix+id)
	if err != nil {
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			return nil, tributary.Errorf(tributary.ENOTFOUND, "no Stripe account %q on this site", id)
		}
		return nil, err
	}
	return decodeAccount(o)
}

// Accounts returns a site's connected accounts.
func (s *Syncer) Accounts(ctx context.Context, siteID string) ([]*Account, error) {
	objs, err := s.Meta.StripeObjectsOfType(ctx, siteID, "stripe_account")
	if err != nil {
		return nil, err
	}
	out := make([]*Account, 0, len(objs))
	for _, o := range objs {
		a, err := decodeAccount(o)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Disconnect deletes Tributary's webhook endpoint in Stripe and forgets the key; the data stays.
func (s *Syncer) Disconnect(ctx context.Context, siteID, id string) (*Account, error) {
	a, err := s.Account(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	if a.Disconnected {
		return a, nil
	}
	if a.StripeEndpoint != "" && s.Box != nil {
		key, err := s.Box.Open("stripe-key:"+siteID+":"+a.ID, a.keySeal)
		if err != nil {
			return nil, err
		}
		if err := s.client(key).DeleteEndpoint(ctx, a.StripeEndpoint); err != nil && !stripeapi.Unauthorized(err) {
			return nil, stripeError("delete the webhook endpoint", err)
		}
	}
	if a.Endpoint != "" {
		if err := s.Meta.DeleteStripeEndpoint(ctx, siteID, a.Endpoint); err != nil && tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, err
		}
	}
	a.Disconnected, a.keySeal, a.StripeEndpoint = true, "", ""
	return a, s.put(ctx, a)
}

// Reimport schedules the import of the last months again (0: everything).
func (s *Syncer) Reimport(ctx context.Context, siteID, id string, months int) (*Account, error) {
	if !validMonths(months) {
		return nil, tributary.FieldError("import_months", "import_months must be one of 1, 3, 12, 24 or 0 (everything)")
	}
	a, err := s.Account(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	if a.Disconnected {
		return nil, tributary.Errorf(tributary.ECONFLICT, "Stripe account %s is disconnected; connect it again", id)
	}
	a.Import = Import{Months: months, Types: map[string]*TypeState{}}
	if months > 0 {
		a.Import.Since = s.now().AddDate(0, -months, 0)
	}
	return a, s.put(ctx, a)
}

// Options of one sync run.
const (
	pagesPerRun   = 50                  // pages of one account's import per run, then the next account's turn
	pagesPerBatch = 5                   // pages reconciled together, then checkpointed
	relistEvery   = 24 * time.Hour      // a daily re-list of the last days heals missed deliveries
	relistDays    = 3                   // how many days the daily re-list reads
	eventsHorizon = 30 * 24 * time.Hour // Stripe keeps events this long
)

// RunOnce advances every connected account by one step: the history import (pagesPerRun pages, with a
// checkpoint after each), then the Events-API catch-up from the newest event seen, then, once a day,
// a re-list of the last days. It returns how many objects and events it processed.
func (s *Syncer) RunOnce(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sites, err := s.Meta.Sites(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, site := range sites {
		accts, err := s.Accounts(ctx, site.ID)
		if err != nil {
			return total, err
		}
		for _, a := range accts {
			if a.Disconnected {
				continue
			}
			n, err := s.step(ctx, site, a)
			total += n
			if errors.Is(err, errStale) {
				continue
			}
			if err != nil {
				a.LastError = err.Error()
				if perr := s.save(ctx, a); perr != nil && !errors.Is(perr, errStale) {
					return total, perr
				}
				s.log(ctx, slog.LevelWarn, "stripe sync failed", slog.String("site", site.ID), slog.String("account", a.ID), slog.Any("err", err))
				continue
			}
		}
	}
	return total, nil
}

func (s *Syncer) log(ctx context.Context, lvl slog.Level, msg string, attrs ...slog.Attr) {
	if s.Logger != nil {
		s.Logger.LogAttrs(ctx, lvl, msg, attrs...)
	}
}

func (s *Syncer) step(ctx context.Context, site *tributary.Site, a *Account) (int, error) {
	if s.Box == nil {
		return 0, errors.New("no --secret-key to open the account's key with")
	}
	key, err := s.Box.Open("stripe-key:"+site.ID+":"+a.ID, a.keySeal)
	if err != nil {
		return 0, err
	}
	c := s.client(key)
	live := a.Mode == tributary.ModeLive
	n := 0
	if a.Import.Finished.IsZero() {
		m, err := s.importPages(ctx, c, site, a, live)
		n += m
		if err != nil || a.Import.Finished.IsZero() {
			return n, err
		}
		// The events from the import's start on are caught up next, so nothing between the two is lost.
		if a.LastEventAt.IsZero() {
			a.LastEventAt = a.Import.Started
		}
	}
	m, err := s.catchUp(ctx, c, site, a, live)
	n += m
	if err != nil {
		return n, err
	}
	if s.now().Sub(a.LastReconciled) >= relistEvery {
		m, err := s.relist(ctx, c, site, a, live)
		n += m
		if err != nil {
			return n, err
		}
	}
	a.LastError = ""
	return n, s.save(ctx, a)
}

// importPages reads up to pagesPerRun pages of the import, checkpointing after each page.
func (s *Syncer) importPages(ctx context.Context, c *stripeapi.Client, site *tributary.Site, a *Account, live bool) (int, error) {
	if a.Import.Started.IsZero() {
		a.Import.Started = s.now()
	}
	n := 0
	for pages := 0; pages < pagesPerRun; {
		var t *struct{ name, path string }
		for i := range importTypes {
			st := a.Import.Types[importTypes[i].name]
			if st == nil || !st.Done {
				t = &importTypes[i]
				break
			}
		}
		if t == nil {
			a.Import.Finished = s.now()
			if secs := a.Import.Finished.Sub(a.Import.Started).Seconds(); secs > 0 {
				a.Import.Rate = float64(a.Import.Objects) / secs
			}
			s.log(ctx, slog.LevelInfo, "stripe import finished", slog.String("site", site.ID), slog.String("account", a.ID), slog.Int("objects", a.Import.Objects))
			return n, s.save(ctx, a)
		}
		st := a.Import.Types[t.name]
		if st == nil {
			st = &TypeState{}
			a.Import.Types[t.name] = st
		}
		var extra url.Values
		if t.name == "subscriptions" {
			extra = url.Values{"status": {"all"}} // canceled ones too: their churn is history
		}
		// Several pages are reconciled as one batch (fewer, larger writes), then checkpointed.
		var raws [][]byte
		cursor, done := st.Cursor, false
		for k := 0; k < pagesPerBatch && !done; k++ {
			page, err := c.List(ctx, t.path, a.Import.Since, cursor, extra)
			if err != nil {
				a.Import.Errors++
				return n, fmt.Errorf("import %s: %w", t.name, err)
			}
			for _, d := range page.Data {
				raws = append(raws, d)
			}
			cursor = page.LastID()
			done = !page.HasMore || cursor == ""
			pages++
		}
		if _, err := s.Processor.ImportObjects(ctx, site, live, s.now(), raws); err != nil {
			a.Import.Errors++
			return n, fmt.Errorf("import %s: %w", t.name, err)
		}
		st.Count += len(raws)
		a.Import.Objects += len(raws)
		n += len(raws)
		if cursor != "" {
			st.Cursor = cursor
		}
		st.Done = done
		if secs := s.now().Sub(a.Import.Started).Seconds(); secs > 0 {
			a.Import.Rate = float64(a.Import.Objects) / secs
		}
		if err := s.save(ctx, a); err != nil { // the checkpoint: a restart resumes after these pages
			return n, err
		}
	}
	return n, nil
}

// catchUp processes the events Stripe created since the newest one seen (at most the 30 days Stripe
// keeps), as if they had been delivered: an outage of the webhook endpoint heals by itself.
func (s *Syncer) catchUp(ctx context.Context, c *stripeapi.Client, site *tributary.Site, a *Account, live bool) (int, error) {
	since := a.LastEventAt
	if horizon := s.now().Add(-eventsHorizon); since.Before(horizon) {
		since = horizon
	}
	extra := url.Values{"created[gt]": {fmt.Sprint(since.Unix())}}
	for _, t := range Events() {
		extra.Add("types[]", t)
	}
	n, cursor := 0, ""
	newest := a.LastEventAt
	for {
		page, err := c.List(ctx, "/v1/events", time.Time{}, cursor, extra)
		if err != nil {
			return n, fmt.Errorf("catch up events: %w", err)
		}
		items := make([]Item, 0, len(page.Data))
		for _, raw := range page.Data {
			items = append(items, Item{Site: site, Raw: raw})
			var head struct {
				Created  int64 `json:"created"`
				Livemode bool  `json:"livemode"`
			}
			if json.Unmarshal(raw, &head) == nil {
				if t := time.Unix(head.Created, 0).UTC(); t.After(newest) {
					newest = t
				}
			}
		}
		for _, o := range s.Processor.ApplyBatch(ctx, items) {
			if o.Err != nil && tributary.ErrorCode(o.Err) != tributary.EINVALID {
				return n, fmt.Errorf("catch up events: %w", o.Err)
			}
		}
		n += len(items)
		cursor = page.LastID()
		if !page.HasMore || cursor == "" {
			break
		}
	}
	a.LastEventAt = newest
	return n, nil
}

// relist re-reads the objects of the last days and reconciles them: a delivery that never came and
// fell out of the Events API is healed. Healed counts the money entries the re-list appended.
func (s *Syncer) relist(ctx context.Context, c *stripeapi.Client, site *tributary.Site, a *Account, live bool) (int, error) {
	since := s.now().AddDate(0, 0, -relistDays)
	n := 0
	for _, t := range importTypes {
		cursor := ""
		var extra url.Values
		if t.name == "subscriptions" {
			extra = url.Values{"status": {"all"}}
		}
		for {
			page, err := c.List(ctx, t.path, since, cursor, extra)
			if err != nil {
				return n, fmt.Errorf("re-list %s: %w", t.name, err)
			}
			raws := make([][]byte, len(page.Data))
			for i, d := range page.Data {
				raws[i] = d
			}
			changed, err := s.Processor.ImportObjects(ctx, site, live, s.now(), raws)
			if err != nil {
				return n, fmt.Errorf("re-list %s: %w", t.name, err)
			}
			a.Healed += changed
			n += len(raws)
			cursor = page.LastID()
			if !page.HasMore || cursor == "" {
				break
			}
		}
	}
	a.LastReconciled = s.now()
	return n, nil
}

// Run calls RunOnce every interval (at once while an import has pages left, or when woken) until ctx
// ends.
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	s.Wake()
	wake := s.wakeChan()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		n, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log(ctx, slog.LevelWarn, "stripe sync", slog.Any("err", err))
		}
		if n > 0 && err == nil {
			s.Wake() // more pages may wait
		}
	}
}
