package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/loadgen"
)

// demo serves a demo site filled through the real paths — browser ingest (backdated with the admin
// token), signed Stripe webhooks and the server-to-server API — by the load generator.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	pageviews := 200000
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--pageviews" && i+1 < len(args):
			pageviews, _ = strconv.Atoi(args[i+1])
			i++
		case strings.HasPrefix(a, "--pageviews="):
			pageviews, _ = strconv.Atoi(strings.TrimPrefix(a, "--pageviews="))
		default:
			rest = append(rest, a)
		}
	}
	if pageviews < 100 {
		fmt.Fprintln(stderr, "tributary demo: --pageviews must be at least 100")
		return 2
	}
	env := func(k string) string {
		switch k {
		case "TRIBUTARY_DATA_DIR":
			if v := getenv(k); v != "" {
				return v
			}
			return "./tributary-demo-data"
		case "TRIBUTARY_ADMIN_TOKEN":
			if v := getenv(k); v != "" {
				return v
			}
			return "demo-admin-" + tributary.RandomID(24)
		case "TRIBUTARY_TRUSTED_PROXIES":
			if v := getenv(k); v != "" {
				return v
			}
			return "127.0.0.1" // the generator varies visitor addresses through X-Forwarded-For
		}
		return getenv(k)
	}
	cfg, err := config.Load("demo", rest, env, stdout)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	password := tributary.RandomID(16)
	email := "demo@tributary.local"
	created := false
	owner := func(ctx context.Context, meta tributary.MetaStore) error {
		has, err := meta.HasUsers(ctx)
		if err != nil || has {
			return err
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		created = true
		return meta.CreateOwner(ctx, &tributary.User{ID: tributary.RandomID(12), Email: email, PasswordHash: string(h), CreatedAt: time.Now().UTC()})
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, cfg, stderr, ready, owner) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		fmt.Fprintf(stderr, "tributary demo: %v\n", err)
		return 1
	}
	base := "http://" + strings.Replace(addr, "[::]", "127.0.0.1", 1)
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0") {
		base = "http://127.0.0.1" + addr[strings.LastIndex(addr, ":"):]
	}
	// The demo's payments are in USD, EUR, GBP, JPY and BHD: it imports reference rates for each day of
	// its window first, so every entry is converted and the dashboard has no exchange-rate warning.
	if err := importDemoRates(ctx, base, cfg.AdminToken, time.Now().UTC(), 92); err != nil {
		fmt.Fprintf(stderr, "tributary demo: importing the demo's exchange rates: %v\n", err)
	}
	fmt.Fprintf(stdout, "Generating the demo site (%d pageviews over 90 days, payments, subscriptions, refunds, a dispute)…\n", pageviews)
	code := loadgen.Main(ctx, []string{"--url", base, "--setup", "--admin-token", cfg.AdminToken, "--backfill", "--xff", "--livemode",
		"--pageviews", strconv.Itoa(pageviews), "--days", "90", "--now", time.Now().UTC().Format(time.RFC3339),
		"--rate", "20000", "--concurrency", "8", "--duration", "30m"}, stdout, stderr)
	if code != 0 {
		fmt.Fprintln(stderr, "tributary demo: generating data reported errors (see above); the server keeps running")
	}
	fmt.Fprintf(stdout, "\nDemo ready: %s\n", displayURL(cfg, addr))
	if created {
		fmt.Fprintf(stdout, "Log in as %s with password %s\n", email, password)
	} else {
		fmt.Fprintln(stdout, "Log in with the owner account of this data dir.")
	}
	fmt.Fprintln(stdout, "Stop with Ctrl-C.")
	if err := <-errc; err != nil {
		fmt.Fprintf(stderr, "tributary demo: %v\n", err)
		return 1
	}
	return 0
}

// demoRates are the euro reference rates the demo uses for its currencies: approximate ECB values, fixed
// for every day (a real install imports the ECB's published file, see the README). The ECB publishes
// no BHD rate; BHD is pegged to the dollar at 0.376.
var demoRates = []struct{ currency, perEUR string }{{"USD", "1.0800"}, {"JPY", "162.00"}, {"GBP", "0.8500"}, {"BHD", "0.40608"}}

// demoRatesCSV is an ECB-format file (eurofxref-hist.csv layout) with the demo rates for each of the
// days days up to now.
func demoRatesCSV(now time.Time, days int) string {
	var b strings.Builder
	b.WriteString("Date")
	for _, r := range demoRates {
		b.WriteString("," + r.currency)
	}
	b.WriteString("\n")
	for d := 0; d <= days; d++ {
		b.WriteString(now.AddDate(0, 0, -d).Format("2006-01-02"))
		for _, r := range demoRates {
			b.WriteString("," + r.perEUR)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// importDemoRates posts the demo rates to the running server with the admin token.
func importDemoRates(ctx context.Context, base, token string, now time.Time, days int) error {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/exchange-rates", strings.NewReader(demoRatesCSV(now, days)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("%s: %s", res.Status, b)
	}
	return nil
}
