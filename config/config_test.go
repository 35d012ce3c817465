package config

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		listen string
		level  string
		tol    time.Duration
	}{
		{"defaults", nil, nil, ":8080", "info", 300 * time.Second},
		{"env over default", map[string]string{"TRIBUTARY_LISTEN": "127.0.0.1:9000", "TRIBUTARY_LOG_LEVEL": "DEBUG", "TRIBUTARY_WEBHOOK_TOLERANCE": "10m"}, nil, "127.0.0.1:9000", "debug", 10 * time.Minute},
		{"flag over env", map[string]string{"TRIBUTARY_LISTEN": "127.0.0.1:9000", "TRIBUTARY_LOG_LEVEL": "debug"}, []string{"--listen", ":7000", "--log-level=warn", "--webhook-tolerance", "1m"}, ":7000", "warn", time.Minute},
		// A broken env value is still an error even when a flag overrides it, so misconfigurations surface.
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("serve", tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != tc.listen || c.LogLevel != tc.level || c.WebhookTolerance != tc.tol {
				t.Fatalf("got listen=%q level=%q tol=%v", c.Listen, c.LogLevel, c.WebhookTolerance)
			}
		})
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"--listen", "8080"}, nil, []string{"--listen"}},
		{[]string{"--log-level", "verbose", "--log-format", "xml"}, nil, []string{"--log-level", "--log-format"}},
		{[]string{"--base-url", "ftp://x"}, nil, []string{"--base-url"}},
		{[]string{"--admin-token", "abc"}, nil, []string{"at least 16"}},
		{[]string{"--meta-dsn", "postgres://x"}, nil, []string{"--meta-dsn needs --events-dsn"}},
		{[]string{"--events-dsn", "mysql://x", "--meta-dsn", "postgres://x"}, nil, []string{"clickhouse://"}},
		{[]string{"--max-body-bytes", "ten"}, nil, []string{"whole number"}},
		{nil, map[string]string{"TRIBUTARY_SHUTDOWN_TIMEOUT": "soon"}, []string{"TRIBUTARY_SHUTDOWN_TIMEOUT", "duration"}},
		{[]string{"--data-dir", " "}, nil, []string{"--data-dir"}},
		{[]string{"--webhook-lease", "10ms"}, nil, []string{"--webhook-lease", "at least 1s"}},
		{[]string{"--ingest-ack", "maybe"}, nil, []string{"--ingest-ack", "auto, buffered or durable"}},
		{[]string{"--metrics-token", "short"}, nil, []string{"--metrics-token", "at least 16"}},
		{[]string{"--rates-url", "ftp://rates.example/eurofxref.csv"}, nil, []string{"--rates-url"}},
		{nil, map[string]string{"TRIBUTARY_RATES_URL": "www.ecb.europa.eu/stats/eurofxref/eurofxref.zip"}, []string{"--rates-url"}},
		{[]string{"--rates-refresh", "30s"}, nil, []string{"--rates-refresh", "at least 1m"}},
		{nil, map[string]string{"TRIBUTARY_RATES_REFRESH": "daily"}, []string{"TRIBUTARY_RATES_REFRESH", "duration"}},
		{[]string{"--duckdb-memory-limit", "lots"}, nil, []string{"--duckdb-memory-limit", "not a size"}},
		{nil, map[string]string{"TRIBUTARY_DUCKDB_MEMORY_LIMIT": "512"}, []string{"--duckdb-memory-limit", "needs a unit"}},
		{[]string{"--duckdb-memory-limit", "16MB"}, nil, []string{"--duckdb-memory-limit", "too small"}},
		{[]string{"--ingest-buffer", "10"}, nil, []string{"--ingest-buffer"}},
	}
	for _, tc := range tests {
		_, err := Load("serve", tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil {
			t.Errorf("%v %v: no error", tc.args, tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
	}
}

func TestDurableIngestFollowsTheEventStore(t *testing.T) {
	tests := []struct {
		ack, eventsDSN string
		want           bool
	}{
		{"auto", "", false},
		{"auto", "clickhouse://127.0.0.1:9000/t", true},
		{"buffered", "clickhouse://127.0.0.1:9000/t", false},
		{"durable", "", true},
	}
	for _, tc := range tests {
		c := Default()
		c.IngestAck, c.EventsDSN = tc.ack, tc.eventsDSN
		if got := c.DurableIngest(); got != tc.want {
			t.Errorf("ack=%s events-dsn=%q: durable=%v, want %v", tc.ack, tc.eventsDSN, got, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	var b strings.Builder
	_, err := Load("serve", []string{"--help"}, func(string) string { return "" }, &b)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, o := range (&Config{}).options() {
		if !strings.Contains(b.String(), "--"+o.flag) || !strings.Contains(b.String(), o.env) {
			t.Errorf("help lacks %s / %s", o.flag, o.env)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	c, err := Load("serve", []string{"--base-url", "https://stats.example.com/"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.SecureCookies() || c.BaseURL != "https://stats.example.com" {
		t.Fatalf("secure=%v base=%q", c.SecureCookies(), c.BaseURL)
	}
}

func TestRatesRefreshConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		url     string
		refresh time.Duration
	}{
		{"off by default", nil, nil, "", 24 * time.Hour},
		{"env", map[string]string{"TRIBUTARY_RATES_URL": "https://www.ecb.europa.eu/stats/eurofxref/eurofxref.zip", "TRIBUTARY_RATES_REFRESH": "12h"}, nil,
			"https://www.ecb.europa.eu/stats/eurofxref/eurofxref.zip", 12 * time.Hour},
		{"flags over env", map[string]string{"TRIBUTARY_RATES_URL": "https://a.example/r.csv"}, []string{"--rates-url", "http://rates.internal/eurofxref-hist.csv", "--rates-refresh=6h"},
			"http://rates.internal/eurofxref-hist.csv", 6 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("serve", tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.RatesURL != tc.url || c.RatesRefresh != tc.refresh {
				t.Fatalf("rates url %q every %v, want %q every %v", c.RatesURL, c.RatesRefresh, tc.url, tc.refresh)
			}
		})
	}
	// A token in the URL's query is not repeated in the error.
	_, err := Load("serve", []string{"--rates-url", "rates.example/x.csv?token=s3cret"}, func(string) string { return "" }, io.Discard)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "256MB": 256e6, "256 mb": 256e6, "1GiB": 1 << 30, "1.5GB": 1.5e9, "64MiB": 64 << 20, "100000000B": 1e8} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"": "not a size", "lots": "not a size", "512": "needs a unit", "5 bananas": "needs a unit", "-1GB": "not a size", "1e3MB": "needs a unit"} {
		if _, err := ParseSize(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSize(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestMemorySettings(t *testing.T) {
	c, err := Load("serve", []string{"--duckdb-memory-limit", "200MiB"}, func(k string) string {
		return map[string]string{"TRIBUTARY_DUCKDB_MEMORY_LIMIT": "1GB", "TRIBUTARY_INGEST_BUFFER": "20000"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DuckDBMemoryLimitBytes() != 200<<20 || c.IngestBuffer != 20000 {
		t.Errorf("memory limit %d, ingest buffer %d", c.DuckDBMemoryLimitBytes(), c.IngestBuffer)
	}
	if c, err := Load("serve", []string{"--duckdb-memory-limit", "0"}, func(string) string { return "" }, io.Discard); err != nil || c.DuckDBMemoryLimitBytes() != 0 {
		t.Errorf("0 (DuckDB's default): %d, %v", c.DuckDBMemoryLimitBytes(), err)
	}
	d := Default()
	if err := d.Validate(); err != nil || d.DuckDBMemoryLimitBytes() == 0 {
		t.Errorf("the default sets no memory limit: %d, %v", d.DuckDBMemoryLimitBytes(), err)
	}
}
