package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/geo"
	"github.com/tributary/tributary/referrer"
	"github.com/tributary/tributary/ua"
)

// Drop reasons, sent in the X-Tributary-Dropped header.
const (
	DropBot          = "bot"
	DropUnknownSite  = "unknown_site"
	DropHostMismatch = "host_mismatch"
	DropExcluded     = "excluded"
	DropRateLimited  = "rate_limited"
	DropInvalid      = "invalid"
)

// Job is one event travelling through the pipeline.
type Job struct {
	Payload   Payload
	UserAgent string
	IP        netip.Addr
	Now       time.Time

	site     *tributary.Site
	excluded []string // the site's own referrer exclusion list; nil: the server's
	pageURL  *url.URL
	Event    tributary.Event
	Identify *tributary.Identity
	// Detail explains an invalid drop (for logs and tests).
	Detail string
}

// Step is one named stage; it returns a drop reason, or "" to pass the job on.
type Step struct {
	Name string
	Run  func(ctx context.Context, j *Job) string
}

// Sites finds a site by id (a cache in front of the MetaStore).
type Sites interface {
	Site(ctx context.Context, id string) (*tributary.Site, error)
}

// Pipeline runs the steps and hands surviving events to the writer.
type Pipeline struct {
	steps   []Step
	sites   Sites
	writer  *Writer
	limiter *IPLimiter
	secret  []byte
	log     *slog.Logger
}

// Options configures a Pipeline.
type Options struct {
	Sites  Sites
	Writer *Writer
	// Limiter caps events per client address; nil disables it.
	Limiter *IPLimiter
	// Secret keys the daily visitor hash of cookieless mode; it must be stable across restarts and
	// nodes so a visitor keeps one id through the day.
	Secret []byte
	Logger *slog.Logger
}

// New builds the pipeline with the standard steps.
func New(opt Options) *Pipeline {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	p := &Pipeline{sites: opt.Sites, writer: opt.Writer, limiter: opt.Limiter, secret: opt.Secret, log: opt.Logger}
	// utm/click ids are read before the channel step because the channel depends on them.
	p.steps = []Step{
		{"validate", p.validate},
		{"rate_limit", p.rateLimit},
		{"bot", stepBot},
		{"user_agent", stepUserAgent},
		{"geo", stepGeo},
		{"utm_click_ids", stepCampaign},
		{"referrer_source_channel", stepSource},
		{"sanitize", stepSanitize},
	}
	return p
}

// Process runs j through the pipeline. It returns the drop reason ("" when the event was accepted) or
// an error when the event could not be buffered (the caller answers 503).
func (p *Pipeline) Process(ctx context.Context, j *Job) (string, error) {
	for _, s := range p.steps {
		if reason := s.Run(ctx, j); reason != "" {
			return reason, nil
		}
	}
	if j.Identify != nil {
		if err := p.writer.EnqueueIdentity(ctx, *j.Identify); err != nil {
			return "", err
		}
		return "", nil
	}
	if err := p.writer.Enqueue(ctx, j.Event); err != nil {
		return "", err
	}
	return "", nil
}

func invalid(j *Job, detail string) string {
	j.Detail = detail
	return DropInvalid
}

// Loopback reports whether a page host is the machine itself (localhost, 127.0.0.0/8, ::1, 0.0.0.0),
// as the tracker tells it: the tracker sends from such a page only when its script tag has
// data-allow-localhost, so a loopback page belongs to any site (testing an install locally) rather than
// being dropped as host_mismatch.
func Loopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && (a.IsLoopback() || a.IsUnspecified())
}

// hostOf reports whether host belongs to the site: the domain itself or any subdomain.
func hostOf(host, domain string) bool {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	return host == domain || strings.HasSuffix(host, "."+domain)
}

func (p *Pipeline) validate(ctx context.Context, j *Job) string {
	pl := &j.Payload
	if pl.Site == "" {
		return invalid(j, "site is required")
	}
	name := strings.TrimSpace(pl.Name)
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return invalid(j, "name must be 1 to 120 characters")
	}
	if len(pl.URL) == 0 || len(pl.URL) > MaxURLLen || len(pl.Referrer) > MaxReferrerLen {
		return invalid(j, "url is required and at most 2048 characters; referrer at most 2048")
	}
	u, err := url.Parse(pl.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return invalid(j, "url must be an absolute http(s) URL")
	}
	j.pageURL = u
	if (pl.VisitorID != "" && !tributary.ValidID(pl.VisitorID)) || (pl.SessionID != "" && !tributary.ValidID(pl.SessionID)) {
		return invalid(j, "visitor_id and session_id must be 1 to 64 characters of letters, digits, - and _")
	}
	if len(pl.Props) > MaxProps {
		return invalid(j, "at most 30 props")
	}
	var props map[string]string
	if len(pl.Props) > 0 {
		props = make(map[string]string, len(pl.Props))
		for k, raw := range pl.Props {
			if k == "" || len(k) > MaxPropKeyLen {
				return invalid(j, "prop names must be 1 to 64 characters")
			}
			v, err := propString(raw)
			if err != nil {
				return invalid(j, "prop "+k+": "+err.Error())
			}
			if len(v) > MaxPropValueLen {
				v = truncateUTF8(v, MaxPropValueLen)
			}
			props[k] = v
		}
	}
	width := 0
	if pl.ScreenWidth != "" {
		n, err := pl.ScreenWidth.Int64()
		if err != nil || n < 0 || n > maxScreenWidth {
			return invalid(j, "screen_width must be a whole number of pixels")
		}
		width = int(n)
	}
	site, err := p.sites.Site(ctx, pl.Site)
	if err != nil {
		if tributary.ErrorCode(err) == tributary.ENOTFOUND {
			return DropUnknownSite
		}
		// The store is unreachable: treat like an unknown site for this event rather than failing the
		// request; the site cache keeps known sites working through short outages.
		p.log.LogAttrs(ctx, slog.LevelWarn, "site lookup failed", slog.String("site", pl.Site), slog.Any("err", err))
		return DropUnknownSite
	}
	j.site = site
	if !hostOf(u.Hostname(), site.Domain) && !Loopback(u.Hostname()) {
		return DropHostMismatch
	}
	if ex, ok := p.sites.(interface {
		Excluded(ctx context.Context, id string) []string
	}); ok {
		j.excluded = ex.Excluded(ctx, site.ID)
	}
	vid, sid := pl.VisitorID, pl.SessionID
	if vid == "" {
		// Cookieless: a daily visitor hash keyed by a server secret; the IP and UA themselves are never stored.
		vid, sid = p.cookielessIDs(site.ID, j)
	} else if sid == "" {
		sid = vid
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if strings.HasPrefix(u.Fragment, "/") {
		path += "#" + u.Fragment // hash routing, when the tracker runs with data-hash
	}
	if name == identifyName {
		ident := strings.TrimSpace(pl.Identity)
		if ident == "" || len(ident) > MaxIdentityLen {
			return invalid(j, "identity is required for identify (1 to 254 characters)")
		}
		id := &tributary.Identity{SiteID: site.ID, At: j.Now.UTC(), VisitorID: vid, SessionID: sid, Source: tributary.SourceBrowser, PersonID: ident}
		if strings.Contains(ident, "@") {
			id.PersonID = strings.ToLower(ident)
			id.Email = id.PersonID
		}
		j.Identify = id
	}
	j.Event = tributary.Event{SiteID: site.ID, Timestamp: j.Now.UTC(), Name: name, Source: tributary.SourceBrowser,
		VisitorID: vid, SessionID: sid, Hostname: strings.ToLower(u.Hostname()), Path: path, ScreenWidth: width, Props: props}
	if name == tributary.PageviewName && pl.VisitorID != "" {
		j.Event.FBP = NormalizeFBP(pl.FBP)
	}
	return ""
}

var fbpFormat = regexp.MustCompile(`^fb\.[0-2]\.[0-9]{1,16}\.[0-9]{1,32}$`)

// NormalizeFBP returns Meta's browser id in its documented form, fb.<subdomain index>.<creation time,
// ms>.<random number>, trimmed and lower-cased, or "" for anything else: a hint for the Meta
// destination, never a reason to refuse the event. Only pageviews with the tracker's own ids keep it (a
// cookieless visitor's events tie nothing to a browser).
func NormalizeFBP(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !fbpFormat.MatchString(s) {
		return ""
	}
	return s
}

func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (p *Pipeline) cookielessIDs(siteID string, j *Job) (string, string) {
	day := j.Now.UTC().Format("2006-01-02")
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte(day + "|" + siteID + "|" + j.IP.String() + "|" + j.UserAgent))
	sum := m.Sum(nil)
	vid := "c" + encodeID(sum[:15])
	return vid, vid
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func encodeID(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = idChars[int(c)%62]
	}
	return string(out)
}

func (p *Pipeline) rateLimit(ctx context.Context, j *Job) string {
	if p.limiter != nil && j.IP.IsValid() && !p.limiter.Allow(j.IP, j.Now) {
		return DropRateLimited
	}
	return ""
}

// stepSanitize is the last step: whatever the steps before derived from the request (decoded query
// parameters may hold invalid UTF-8 or NUL bytes, e.g. ?utm_source=%ff), the event that is queued is
// valid, bounded text, so one request can never make the store refuse a batch.
func stepSanitize(ctx context.Context, j *Job) string {
	j.Event.Clean()
	if j.Identify != nil {
		j.Identify.Clean()
	}
	return ""
}

func stepBot(ctx context.Context, j *Job) string {
	if ua.IsBot(j.UserAgent) {
		return DropBot
	}
	return ""
}

func stepUserAgent(ctx context.Context, j *Job) string {
	a := ua.Parse(j.UserAgent)
	j.Event.Browser, j.Event.OS, j.Event.Device = a.Browser, a.OS, a.Device
	return ""
}

func stepGeo(ctx context.Context, j *Job) string {
	if j.IP.IsValid() {
		j.Event.Country, j.Event.Region = geo.Lookup(j.IP)
	}
	return ""
}

// clickIDParams are the landing-page parameters that identify an ad click.
var clickIDParams = []string{"gclid", "gbraid", "wbraid", "msclkid", "fbclid", "ttclid", "twclid", "li_fat_id"}

func stepCampaign(ctx context.Context, j *Job) string {
	q := j.pageURL.Query()
	e := &j.Event
	e.UTMSource = clip(q.Get("utm_source"))
	e.UTMMedium = clip(q.Get("utm_medium"))
	e.UTMCampaign = clip(q.Get("utm_campaign"))
	e.UTMTerm = clip(q.Get("utm_term"))
	e.UTMContent = clip(q.Get("utm_content"))
	return ""
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return truncateUTF8(s, 200)
	}
	return s
}

func stepSource(ctx context.Context, j *Job) string {
	q := j.pageURL.Query()
	var clicks map[string]string
	for _, k := range clickIDParams {
		if v := q.Get(k); v != "" {
			if clicks == nil {
				clicks = map[string]string{}
			}
			clicks[k] = clip(v)
		}
	}
	ref := q.Get("ref")
	if ref == "" {
		ref = q.Get("via")
	}
	if ref == "" {
		ref = q.Get("source")
	}
	e := &j.Event
	r := referrer.Classify(referrer.Input{
		Referrer: j.Payload.Referrer, SiteDomain: j.site.Domain, PageHost: e.Hostname,
		UTMSource: e.UTMSource, UTMMedium: e.UTMMedium, UTMCampaign: e.UTMCampaign,
		ClickIDs: clicks, Ref: clip(ref), Excluded: j.excluded,
	})
	e.Referrer, e.ReferrerSource, e.Channel = r.Referrer, r.Source, r.Channel
	e.ClickIDPlatform, e.ClickID, e.ClickIDParam = r.ClickIDPlatform, r.ClickID, r.ClickIDParam
	return ""
}

// DecodePayload parses a request body (JSON, possibly sent as text/plain).
func DecodePayload(b []byte) (Payload, error) {
	var p Payload
	// Unmarshal reads straight from the body; screen_width is a json.Number field, so no decoder
	// option is needed.
	if err := json.Unmarshal(b, &p); err != nil {
		return p, tributary.Errorf(tributary.EINVALID, "malformed event JSON: %v", err)
	}
	return p, nil
}
