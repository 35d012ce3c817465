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

// DefaultPostgresDSN is the server .ci/postgres.sh starts: Debian's cluster on loopback, trusting local
// TCP connections.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresDSN returns a DSN to a fresh, empty database on the server named by TRIBUTARY_TEST_POSTGRES_DSN
// (else the local server, when it answers), and drops the database when the test ends. It skips, or
// fails when the postgres gate is required, without a server. The "pgx" database/sql driver must be
// registered by the caller's imports (store/postgres does).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TRIBUTARY_TEST_POSTGRES_DSN")
	from := "TRIBUTARY_TEST_POSTGRES_DSN"
	if dsn == "" {
		dsn, from = DefaultPostgresDSN, "the default "+DefaultPostgresDSN
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("testenv: %s is not a PostgreSQL DSN (want postgres://user@host:5432/db): %q", from, dsn)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	c, dialErr := net.DialTimeout("tcp", host, 2*time.Second)
	if dialErr == nil {
		c.Close()
	}
	Need(t, Postgres, dialErr == nil, "a PostgreSQL server at "+host+" ("+from+"; bash .ci/postgres.sh starts one)")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("testenv: open PostgreSQL (is the pgx driver imported?): %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "tributary_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		Need(t, Postgres, false, "CREATE DATABASE on "+host+" failed: "+err.Error())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
