package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/store/clickhouse"
)

// TestClickHouseLogsThroughTheServer: what the ClickHouse store reports of its own work (here the
// touches of a site left stale, rebuilt at the start) reaches the server's logger, in its format, not
// the process's default logger; and the embedded store beside it, which holds only the metadata, does
// not warm the event tables it leaves empty.
func TestClickHouseLogsThroughTheServer(t *testing.T) {
	dsn := testenv.ClickHouseDSN(t)
	ctx := context.Background()
	// A process that stopped between a write and its rewrite leaves the site's stale mark.
	st, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkTouches(ctx, "left-stale", true); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg, err := config.Load("serve", []string{"--data-dir", t.TempDir(), "--events-dsn", dsn, "--log-format", "json"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// slog's handler writes one record at a time, and the buffer is read once closeStores has ended the
	// stores' background work.
	var buf bytes.Buffer
	_, _, _, closeStores, err := openStores(ctx, cfg, newLogger(cfg, &buf))
	if err != nil {
		t.Fatal(err)
	}
	if err := closeStores(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"msg":"payment touches rebuilt","site":"left-stale"`) {
		t.Fatalf("the server's log lacks the store's rebuild, as JSON:\n%s", buf.String())
	}
	// The embedded store holds only the metadata here: nothing of it for the dashboard to warm.
	if strings.Contains(buf.String(), "cache warmed") {
		t.Fatalf("the embedded store warmed its empty event tables beside ClickHouse:\n%s", buf.String())
	}
}
