// Package migratestore moves an embedded installation into the scale-out stores: its facts (events,
// identities, the ledger and MRR movements) into another EventStore, proven by asking both stores the same
// questions, and, when asked, its MetaStore (users, sites, keys, Stripe endpoints, the webhook inbox,
// Stripe state) into PostgreSQL, proven by row counts.
package migratestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/stats"
	"github.com/tributary/tributary/store/duckdb"
)

// Copy moves every site's facts from src into dst. It refuses a destination that already holds facts of
// a site, so running it twice cannot double anything.
func Copy(ctx context.Context, src *duckdb.Store, dst tributary.EventStore, log io.Writer) error {
	sites, err := src.Sites(ctx)
	if err != nil {
		return fmt.Errorf("migrate-store: list sites: %w", err)
	}
	epoch, far := time.Unix(0, 0).UTC(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, site := range sites {
		if n, err := dst.CountEvents(ctx, site.ID, epoch, far); err != nil {
			return fmt.Errorf("migrate-store: check destination for site %s: %w", site.ID, err)
		} else if n > 0 {
			return tributary.Errorf(tributary.ECONFLICT, "the destination already has %d events of site %s (%s); migrate into an empty database", n, site.ID, site.Domain)
		}
		if l, err := dst.Ledger(ctx, site.ID); err != nil {
			return fmt.Errorf("migrate-store: check destination ledger of %s: %w", site.ID, err)
		} else if len(l) > 0 {
			return tributary.Errorf(tributary.ECONFLICT, "the destination already has ledger entries of site %s (%s); migrate into an empty database", site.ID, site.Domain)
		}
	}
	for _, site := range sites {
		start := time.Now()
		events := 0
		if err := src.ExportEvents(ctx, site.ID, 50_000, func(b []tributary.Event) error {
			events += len(b)
			if err := dst.InsertEvents(ctx, b); err != nil {
				return fmt.Errorf("migrate-store: insert events of %s: %w", site.ID, err)
			}
			return nil
		}); err != nil {
			return err
		}
		ids, err := src.ExportIdentities(ctx, site.ID)
		if err != nil {
			return err
		}
		for i := 0; i < len(ids); i += 50_000 {
			if err := dst.InsertIdentities(ctx, ids[i:min(i+50_000, len(ids))]); err != nil {
				return fmt.Errorf("migrate-store: insert identities of %s: %w", site.ID, err)
			}
		}
		ledger, err := src.Ledger(ctx, site.ID)
		if err != nil {
			return err
		}
		for i := 0; i < len(ledger); i += 10_000 {
			if _, err := dst.InsertLedger(ctx, ledger[i:min(i+10_000, len(ledger))]); err != nil {
				return fmt.Errorf("migrate-store: insert ledger of %s: %w", site.ID, err)
			}
		}
		ms, err := src.MRRMovements(ctx, site.ID)
		if err != nil {
			return err
		}
		if _, err := dst.InsertMRRMovements(ctx, ms); err != nil {
			return fmt.Errorf("migrate-store: insert MRR movements of %s: %w", site.ID, err)
		}
		fmt.Fprintf(log, "site %s (%s): %d events, %d identities, %d ledger entries, %d MRR movements copied in %v\n",
			site.ID, site.Domain, events, len(ids), len(ledger), len(ms), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// checks are the questions both stores must answer alike: traffic, money under two models, by channel
// and by day, MRR, in live and test mode.
var checks = []string{
	`{"metrics":["visitors","visits","pageviews","bounce_rate","events","conversions"],"date_range":"all"}`,
	`{"metrics":["visitors","payments","revenue","refunds","disputes","net_revenue"],"dimensions":["visit:channel"],"date_range":"all","limit":1000}`,
	`{"metrics":["revenue","payments"],"dimensions":["visit:source"],"date_range":"all","attribution":{"model":"linear"},"limit":1000}`,
	`{"metrics":["pageviews","revenue"],"dimensions":["time:month"],"date_range":"all","limit":1000}`,
	`{"metrics":["revenue","payments"],"dimensions":["payment:link_method"],"date_range":"all"}`,
	`{"metrics":["mrr","new_mrr","churned_mrr"],"date_range":"all"}`,
	`{"metrics":["revenue","payments","net_revenue"],"date_range":"all","mode":"test"}`,
}

// Verify asks both engines the checks for every site and returns an error naming the first difference.
func Verify(ctx context.Context, meta tributary.MetaStore, want, got *stats.Engine, now time.Time, log io.Writer) error {
	sites, err := meta.Sites(ctx)
	if err != nil {
		return fmt.Errorf("migrate-store: list sites: %w", err)
	}
	for _, site := range sites {
		for _, c := range checks {
			body := []byte(`{"site_id":"` + site.ID + `",` + c[1:])
			q, err := stats.ParseQuery(body, site, now)
			if err != nil {
				return fmt.Errorf("migrate-store: check %s: %w", c, err)
			}
			a, err := want.Run(ctx, q)
			if err != nil {
				return fmt.Errorf("migrate-store: source answer to %s: %w", c, err)
			}
			b, err := got.Run(ctx, q)
			if err != nil {
				return fmt.Errorf("migrate-store: destination answer to %s: %w", c, err)
			}
			ja, _ := json.Marshal(a.Results)
			jb, _ := json.Marshal(b.Results)
			if string(ja) != string(jb) {
				return fmt.Errorf("migrate-store: site %s answers differ for %s:\nembedded:    %s\ndestination: %s", site.ID, c, ja, jb)
			}
		}
		fmt.Fprintf(log, "site %s (%s): %d checks answer identically\n", site.ID, site.Domain, len(checks))
	}
	return nil
}

// metaTables are the MetaStore's tables, in an order that keeps references valid. Both stores have them
// under the same names and columns (store/duckdb and store/postgres migrations).
var metaTables = []string{"users", "login_sessions", "sites", "api_keys", "settings", "stripe_endpoints", "stripe_event_ids",
	"webhook_deliveries", "exchange_rates", "server_event_ids", "revenue_events", "event_kinds", "api_subscriptions", "stripe_objects", "payments"}

// CopyMeta copies every MetaStore table from src into dst (PostgreSQL) in one transaction, column by
// column name, and checks the row counts; it refuses a destination that already has sites.
func CopyMeta(ctx context.Context, src, dst *sql.DB, log io.Writer) error {
	var n int
	if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM sites`).Scan(&n); err != nil {
		return fmt.Errorf("migrate-store: check destination MetaStore: %w", err)
	}
	if n > 0 {
		return tributary.Errorf(tributary.ECONFLICT, "the destination MetaStore already has %d sites; migrate into an empty database", n)
	}
	tx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer tx.Rollback()
	counts := map[string]int{}
	for _, table := range metaTables {
		rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			return fmt.Errorf("migrate-store: read %s: %w", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return fmt.Errorf("migrate-store: read %s: %w", table, err)
		}
		ph := make([]string, len(cols))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES (`+strings.Join(ph, ", ")+`)`)
		if err != nil {
			rows.Close()
			return fmt.Errorf("migrate-store: prepare %s: %w", table, err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("migrate-store: read %s: %w", table, err)
			}
			if _, err := stmt.ExecContext(ctx, vals...); err != nil {
				rows.Close()
				return fmt.Errorf("migrate-store: write %s: %w", table, err)
			}
			counts[table]++
		}
		rows.Close()
		stmt.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrate-store: read %s: %w", table, err)
		}
	}
	for _, table := range metaTables {
		var got int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&got); err != nil {
			return fmt.Errorf("migrate-store: count %s: %w", table, err)
		}
		if got != counts[table] {
			return fmt.Errorf("migrate-store: %s has %d rows after the copy, want %d", table, got, counts[table])
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate-store: commit MetaStore: %w", err)
	}
	fmt.Fprintf(log, "MetaStore: %d sites, %d API keys, %d Stripe endpoints, %d webhook deliveries, %d payment records copied\n",
		counts["sites"], counts["api_keys"], counts["stripe_endpoints"], counts["webhook_deliveries"], counts["payments"])
	return nil
}
