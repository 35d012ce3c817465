package fx

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// Refresh defaults. The ECB publishes once a working day around 16:00 CET, so a daily fetch is enough;
// a fetch that fails is retried sooner, because the server may have started before its network did.
const (
	DefaultRefreshInterval = 24 * time.Hour
	DefaultFetchTimeout    = 30 * time.Second
	// DefaultMaxBytes bounds the downloaded file and, for a zip, the CSV inside it. The full history file
	// (every working day since 1999, 40 currencies) is under 2 MiB.
	DefaultMaxBytes = 32 << 20
	// DefaultRetryInterval is the wait after a failed fetch (never longer than the interval itself).
	DefaultRetryInterval = time.Hour
)

// RateStore keeps exchange rates: the MetaStore's PutExchangeRates, replacing the rates of the same date
// and currency.
type RateStore interface {
	PutExchangeRates(ctx context.Context, rates []tributary.ExchangeRate) (int, error)
}

// RefresherOptions configures a Refresher. Zero values get the defaults above; an empty URL turns the
// refresher off.
type RefresherOptions struct {
	// URL serves an ECB-format CSV (eurofxref.csv, eurofxref-hist.csv, or a file of the same layout), or
	// the ECB's eurofxref.zip / eurofxref-hist.zip holding one.
	URL   string
	Store RateStore
	// Interval between successful fetches.
	Interval time.Duration
	// RetryInterval is the wait after a failed fetch; it is capped at Interval.
	RetryInterval time.Duration
	// Timeout bounds one fetch, connection to last byte.
	Timeout time.Duration
	// MaxBytes bounds the body and the CSV unpacked from a zip.
	MaxBytes int64
	// Client makes the request; its own Timeout is left alone, Timeout applies through the context.
	Client *http.Client
	Logger *slog.Logger
	// OnUpdate runs after new rates were stored, so that converters reload them (ledger.InvalidateRates).
	OnUpdate func()
}

// Refresher keeps the stored exchange rates current from a URL: at start and then every Interval. A
// fetch that fails, or a file that does not parse as ECB rates, stores nothing, so the rates already
// stored stay in use.
type Refresher struct {
	opt     RefresherOptions
	log     *slog.Logger
	display string // the URL without query or credentials, for logs

	// after waits between fetches; tests replace it to drive the schedule without sleeping.
	after func(time.Duration) <-chan time.Time

	mu   sync.Mutex
	last [sha256.Size]byte // digest of the last CSV stored, to skip rewriting an unchanged file
}

// RefreshResult says what one fetch stored.
type RefreshResult struct {
	Rates     int    // rates stored (0 when the file was the same as last time)
	Latest    string // newest date in the file, YYYY-MM-DD
	Unchanged bool   // the file was identical to the one stored last; nothing was written
}

// NewRefresher returns a refresher with the defaults filled in.
func NewRefresher(opt RefresherOptions) *Refresher {
	if opt.Interval <= 0 {
		opt.Interval = DefaultRefreshInterval
	}
	if opt.RetryInterval <= 0 {
		opt.RetryInterval = DefaultRetryInterval
	}
	opt.RetryInterval = min(opt.RetryInterval, opt.Interval)
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultFetchTimeout
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Refresher{opt: opt, log: opt.Logger, display: displayURL(opt.URL), after: time.After}
}

// displayURL drops credentials and the query (either may hold a token) from u.
func displayURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Scheme + "://" + p.Host + p.EscapedPath()
}

// Start runs the refresher in the background and returns at once, so startup never waits for the
// network; stop cancels it and waits until it has returned. With an empty URL it does nothing.
func (r *Refresher) Start(ctx context.Context) (stop func()) {
	if r.opt.URL == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Run fetches at once, then every Interval (RetryInterval after a failure), until ctx ends. It logs each
// outcome; failures leave the stored rates as they were.
func (r *Refresher) Run(ctx context.Context) {
	for {
		wait := r.opt.Interval
		res, err := r.Refresh(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = r.opt.RetryInterval
			r.log.LogAttrs(ctx, slog.LevelWarn, "exchange rate refresh failed; keeping the stored rates",
				slog.String("url", r.display), slog.Duration("retry_in", wait), slog.Any("err", err))
		case res.Unchanged:
			r.log.LogAttrs(ctx, slog.LevelDebug, "exchange rates unchanged", slog.String("url", r.display), slog.String("latest_date", res.Latest))
		default:
			r.log.LogAttrs(ctx, slog.LevelInfo, "exchange rates refreshed", slog.String("url", r.display),
				slog.Int("rates", res.Rates), slog.String("latest_date", res.Latest))
		}
		select {
		case <-ctx.Done():
			return
		case <-r.after(wait):
		}
	}
}

// Refresh fetches the URL once and stores its rates. Any failure — the network, a status other than 200,
// a body over MaxBytes, a file that is not ECB rates — is returned and nothing is stored.
func (r *Refresher) Refresh(ctx context.Context) (RefreshResult, error) {
	if r.opt.URL == "" {
		return RefreshResult{}, fmt.Errorf("fx: refresh rates: %w", tributary.Errorf(tributary.EINVALID, "no rates URL configured"))
	}
	csv, err := r.fetch(ctx)
	if err != nil {
		return RefreshResult{}, fmt.Errorf("fx: refresh rates from %s: %w", r.display, err)
	}
	rates, err := ParseECB(bytes.NewReader(csv))
	if err != nil {
		return RefreshResult{}, fmt.Errorf("fx: refresh rates from %s: %w", r.display, err)
	}
	if _, err := NewTable(rates); err != nil {
		return RefreshResult{}, fmt.Errorf("fx: refresh rates from %s: %w", r.display, err)
	}
	res := RefreshResult{}
	stored := make([]tributary.ExchangeRate, len(rates))
	for i, rt := range rates {
		stored[i] = tributary.ExchangeRate{Date: rt.Date, Currency: rt.Currency, PerEUR: rt.PerEUR}
		res.Latest = max(res.Latest, rt.Date)
	}
	sum := sha256.Sum256(csv)
	r.mu.Lock()
	defer r.mu.Unlock()
	if sum == r.last {
		res.Unchanged = true
		return res, nil
	}
	if res.Rates, err = r.opt.Store.PutExchangeRates(ctx, stored); err != nil {
		return RefreshResult{}, fmt.Errorf("fx: refresh rates from %s: store: %w", r.display, err)
	}
	r.last = sum
	if r.opt.OnUpdate != nil {
		r.opt.OnUpdate()
	}
	return res, nil
}

// fetch downloads the file within Timeout and MaxBytes and returns the CSV, unpacked when it is a zip.
func (r *Refresher) fetch(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.opt.URL, nil)
	if err != nil {
		return nil, tributary.Errorf(tributary.EINVALID, "bad URL: %v", err)
	}
	req.Header.Set("Accept", "text/csv, application/zip;q=0.9, */*;q=0.1")
	res, err := r.opt.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query and all
		}
		return nil, &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "download failed", Err: err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, tributary.Errorf(tributary.EUNAVAILABLE, "download failed: HTTP %s", res.Status)
	}
	body, err := readAtMost(res.Body, r.opt.MaxBytes)
	if err != nil && tributary.ErrorCode(err) != tributary.ETOOLARGE {
		return nil, &tributary.Error{Code: tributary.EUNAVAILABLE, Message: "download interrupted", Err: err}
	}
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		return r.unzip(body)
	}
	return body, nil
}

// unzip returns the one CSV file of an archive such as the ECB's eurofxref.zip.
func (r *Refresher) unzip(body []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, tributary.Errorf(tributary.EINVALID, "not a readable zip file: %v", err)
	}
	var csv *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			if csv != nil {
				return nil, tributary.Errorf(tributary.EINVALID, "the zip file holds more than one CSV file (%s, %s)", csv.Name, f.Name)
			}
			csv = f
		}
	}
	if csv == nil {
		return nil, tributary.Errorf(tributary.EINVALID, "the zip file holds no CSV file")
	}
	rc, err := csv.Open()
	if err != nil {
		return nil, tributary.Errorf(tributary.EINVALID, "cannot open %s in the zip file: %v", csv.Name, err)
	}
	defer rc.Close()
	b, err := readAtMost(rc, r.opt.MaxBytes)
	if err != nil && tributary.ErrorCode(err) != tributary.ETOOLARGE {
		return nil, &tributary.Error{Code: tributary.EINVALID, Message: "corrupt zip file", Err: err}
	}
	return b, err
}

// readAtMost reads rd to the end, refusing more than limit bytes with an ETOOLARGE error; read errors
// are returned as they are.
func readAtMost(rd io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tributary.Errorf(tributary.ETOOLARGE, "the rates file is larger than %d bytes", limit)
	}
	return b, nil
}
