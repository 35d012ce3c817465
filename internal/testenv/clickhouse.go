package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// DefaultClickHouseDSN is the server .ci/clickhouse.sh starts: the native protocol on loopback.
const DefaultClickHouseDSN = "clickhouse://default@127.0.0.1:9000/default"

// ClickHouseDSN returns a DSN to a fresh, empty database on the server named by
// TRIBUTARY_TEST_CLICKHOUSE_DSN (else the local server, when it answers), and drops the database when the
// test ends. It skips, or fails when the clickhouse gate is required, without a server.
//
// It opens the database through database/sql's "clickhouse" driver, which the caller's imports register
// (store/clickhouse imports clickhouse-go); this package does not import it, so tests that never touch
// ClickHouse do not link the driver.
func ClickHouseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TRIBUTARY_TEST_CLICKHOUSE_DSN")
	from := "TRIBUTARY_TEST_CLICKHOUSE_DSN"
	if dsn == "" {
		dsn, from = DefaultClickHouseDSN, "the default "+DefaultClickHouseDSN
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("testenv: %s is not a ClickHouse DSN (want clickhouse://user@host:9000/db): %q", from, dsn)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "9000")
	}
	c, dialErr := net.DialTimeout("tcp", host, 2*time.Second)
	if dialErr == nil {
		c.Close()
	}
	Need(t, ClickHouse, dialErr == nil, "a ClickHouse server at "+host+" ("+from+"; bash .ci/clickhouse.sh starts one)")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("clickhouse", dsn)
	if err != nil {
		t.Fatalf("testenv: open ClickHouse (is the clickhouse-go driver imported?): %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "tributary_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		Need(t, ClickHouse, false, "CREATE DATABASE on "+host+" failed: "+err.Error())
	}
	t.Cleanup(func() {
		// Dropping a database unlinks every file of every part, tens of thousands after a test that
		// inserts row by row into events and visits, which on a loaded shared disk takes over a minute.
		// The wait must outlast it: a client that gives up disconnects mid-DROP, and 18.16 has crashed
		// (a segfault in RWLockImpl::getLock) just as a DROP DATABASE was abandoned that way.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		db, err := sql.Open("clickhouse", dsn)
		if err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
