// Command tributary is the whole product in one binary: `tributary serve` runs the server on the
// embedded store; see `tributary help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/loadgen"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Tributary — self-hosted web analytics with revenue attribution.

Usage:
  tributary <command> [flags]

Commands:
  serve     run the server (embedded DuckDB store in --data-dir unless DSNs are given)
  demo      serve with a generated demo site (90 days of traffic and payments); same flags as serve
            plus --pageviews N (default 200000); prints the dashboard URL and login
  loadgen   drive a running server with realistic traffic (see tributary loadgen --help)
  migrate-store
            copy the embedded store's events, ledger and identities into ClickHouse (--events-dsn) and,
            with --meta-dsn, its users, sites, keys, endpoints and inbox into PostgreSQL (empty
            databases); checks both answer alike; stop the server first; same flags as serve
  reset-password --email OWNER
            set a new random password for the owner and print it, ending every login session; stop
            the server first (the embedded store has one owner process); same flags as serve
  version   print the version
  help      show this help; "tributary serve --help" shows the flags

Flags of serve (each also read from the environment variable shown; flags win over the environment,
which wins over the default):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: testable, returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		config.FlagHelp(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		config.FlagHelp(stdout)
		return 0
	case "version", "--version":
		fmt.Fprintf(stdout, "tributary %s\n", version)
		return 0
	case "serve":
		cfg, err := config.Load(args[0], args[1:], getenv, stdout)
		if errors.Is(err, config.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if err := serve(ctx, cfg, stderr, nil, nil); err != nil {
			fmt.Fprintf(stderr, "tributary: %v\n", err)
			return 1
		}
		return 0
	case "demo":
		return demo(ctx, args[1:], getenv, stdout, stderr)
	case "loadgen":
		return loadgen.Main(ctx, args[1:], stdout, stderr)
	case "migrate-store":
		return migrateStore(ctx, args[1:], getenv, stdout, stderr)
	case "reset-password":
		return resetPassword(ctx, args[1:], getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "tributary: unknown command %q\n\n", args[0])
		fmt.Fprint(stderr, usage)
		config.FlagHelp(stderr)
		return 2
	}
}
