package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/config"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/store/postgres"
)

// resetPassword is `tributary reset-password --email OWNER`: the way back in when the owner's password
// is lost. It opens the MetaStore (the embedded file, so the server must be stopped; or --meta-dsn),
// sets a new random password, ends every login session and prints the password.
func resetPassword(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	email := ""
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--email" && i+1 < len(args):
			email = args[i+1]
			i++
		case strings.HasPrefix(a, "--email="):
			email = strings.TrimPrefix(a, "--email=")
		default:
			rest = append(rest, a)
		}
	}
	cfg, err := config.Load("reset-password", rest, getenv, stdout)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err == nil && email == "" {
		err = errors.New("reset-password needs --email OWNER (the owner account's e-mail)")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "tributary: %v\n", err)
		return 1
	}
	var meta tributary.MetaStore
	if cfg.MetaDSN != "" {
		pg, err := postgres.Open(ctx, cfg.MetaDSN)
		if err != nil {
			return fail(err)
		}
		defer pg.Close()
		meta = pg
	} else {
		st, err := duckdb.Open(ctx, cfg.DataDir, duckdbOptions(cfg)...)
		if err != nil {
			return fail(fmt.Errorf("%w (stop the running server first: only one process may open %s)", err, cfg.DataDir))
		}
		defer st.Close()
		meta = st
	}
	u, err := meta.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return fail(err)
	}
	pw := tributary.RandomID(20)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fail(err)
	}
	if err := meta.SetPassword(ctx, u.ID, string(hash), ""); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "New password for %s: %s\nEvery login session was ended. Log in and change it on the Account page.\n", u.Email, pw)
	return 0
}
