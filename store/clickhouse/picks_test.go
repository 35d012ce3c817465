package clickhouse_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tributary/tributary/store/storetest"
)

// TestPaymentPicksFollowTouches holds ReplaceTouches' picks (worked out in Go, touches.Pick) and migration
// 009's fill (the stats engine's SQL condition) to the shared expectations.
func TestPaymentPicksFollowTouches(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	body, err := os.ReadFile("migrations/009_money_tables.sql")
	if err != nil {
		t.Fatal(err)
	}
	src := string(body)
	at := strings.LastIndex(src, "INSERT INTO payment_picks")
	fill := "INSERT INTO migrated " + strings.TrimSuffix(strings.TrimSpace(src[at+len("INSERT INTO payment_picks"):]), ";")
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE migrated AS payment_picks`); err != nil {
		t.Fatal(err)
	}
	storetest.PaymentPicks(t, s, func(t *testing.T) []string { return storetest.PickRows(t, s.DB(), picksOf("payment_picks")) }, func(t *testing.T) []string {
		for _, q := range []string{`TRUNCATE TABLE migrated`, fill} {
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return storetest.PickRows(t, s.DB(), picksOf("migrated"))
	})
}

// picksOf selects a picks table's current rows (FINAL, without tombstones) for storetest.PickRows.
func picksOf(table string) string {
	return `SELECT model, payment_id, channel FROM ` + table + ` FINAL WHERE deleted = 0 ORDER BY model, payment_id`
}
