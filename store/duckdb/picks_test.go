package duckdb

import (
	"context"
	"strings"
	"testing"

	"github.com/tributary/tributary/store/storetest"
)

// TestPaymentPicksFollowTouches holds ReplaceTouches' picks (pickedRows) and migration 021's fill to the
// shared expectations.
func TestPaymentPicksFollowTouches(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The migration's fill, run again into a copy of the table.
	body, err := migrations.ReadFile("migrations/021_payment_picks.sql")
	if err != nil {
		t.Fatal(err)
	}
	fill := "INSERT INTO migrated " + string(body[strings.Index(string(body), "SELECT site_id"):])
	if _, err := s.db.ExecContext(ctx, `CREATE TEMP TABLE migrated AS SELECT * FROM payment_picks WHERE false`); err != nil {
		t.Fatal(err)
	}
	storetest.PaymentPicks(t, s, func(t *testing.T) []string { return storetest.PickRows(t, s.db, picksOf("payment_picks")) }, func(t *testing.T) []string {
		for _, q := range []string{`DELETE FROM migrated`, fill} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return storetest.PickRows(t, s.db, picksOf("migrated"))
	})
}

// picksOf selects a picks table's rows for storetest.PickRows.
func picksOf(table string) string {
	return `SELECT model, payment_id, channel FROM ` + table + ` ORDER BY ALL`
}
