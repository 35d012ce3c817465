package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/migratestore"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/clickhouse"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/postgres"
)

// migrateStore is `tributary migrate-store`: copy the embedded store's events, identities, ledger and
// MRR movements into the ClickHouse EventStore named by --events-dsn, and with --meta-dsn its MetaStore
// into PostgreSQL, then prove the copy by asking both the same questions. Stop the server first (the
// data dir has one owner).
func migrateStore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load("migrate-store", args, getenv, stdout)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err == nil && cfg.EventsDSN == "" {
		err = errors.New("migrate-store needs --events-dsn clickhouse://user:pass@host:9000/db (an empty database) to copy into")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "tributary: %v\n", err)
		return 1
	}
	src, err := duckdb.Open(ctx, cfg.DataDir, duckdbOptions(cfg)...)
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	dst, err := clickhouse.Open(ctx, cfg.EventsDSN)
	if err != nil {
		return fail(err)
	}
	defer dst.Close()
	if cfg.MetaDSN != "" {
		pg, err := postgres.Open(ctx, cfg.MetaDSN)
		if err != nil {
			return fail(err)
		}
		defer pg.Close()
		if err := migratestore.CopyMeta(ctx, src.DB(), pg.DB(), stdout); err != nil {
			return fail(err)
		}
	}
	if err := migratestore.Copy(ctx, src, dst, stdout); err != nil {
		return fail(err)
	}
	want := stats.NewEngine(src.DB(), stats.DuckDB{})
	got := stats.NewEngine(dst.DB(), stats.ClickHouse{})
	if err := migratestore.Verify(ctx, src, want, got, time.Now(), stdout); err != nil {
		return fail(err)
	}
	if cfg.MetaDSN != "" {
		fmt.Fprintln(stdout, "done: start every node with the same --meta-dsn and --events-dsn")
	} else {
		fmt.Fprintf(stdout, "done: start the server with --data-dir %s --events-dsn <the same DSN>\n", cfg.DataDir)
	}
	return 0
}
