package sqlmeta

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// NotFound is the coded error for a missing row.
func NotFound(what, id string) error {
	return tributary.Errorf(tributary.ENOTFOUND, "%s %q not found", what, id)
}

// CreateOwner inserts the first user inside a transaction that first checks no user exists.
func (s *Store) CreateOwner(ctx context.Context, u *tributary.User) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.unavailable("create owner", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return s.mapErr("create owner", err)
	}
	if n > 0 {
		return tributary.Errorf(tributary.ECONFLICT, "the owner account already exists")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.PasswordHash, u.CreatedAt.UTC()); err != nil {
		return s.mapErr("create owner", err)
	}
	if err := tx.Commit(); err != nil {
		// Two concurrent setups conflict at commit in DuckDB's optimistic concurrency.
		return &tributary.Error{Code: tributary.ECONFLICT, Message: "the owner account already exists", Err: err}
	}
	return nil
}

// SetPassword replaces a user's password hash and ends the user's other login sessions, in one
// transaction.
func (s *Store) SetPassword(ctx context.Context, userID, hash, keepSession string) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr("set password", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err != nil {
		return s.mapErr("set password", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return NotFound("user", userID)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_sessions WHERE user_id = $1 AND id <> $2`, userID, keepSession); err != nil {
		return s.mapErr("end sessions", err)
	}
	return s.mapErr("set password", tx.Commit())
}

// HasUsers reports whether the owner exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return false, s.mapErr("count users", err)
	}
	return n > 0, nil
}

func (s *Store) userBy(ctx context.Context, col, v string) (*tributary.User, error) {
	u := &tributary.User{}
	err := s.DB.QueryRowContext(ctx, `SELECT id, email, password_hash, created_at FROM users WHERE `+col+` = $1`, v).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &u.CreatedAt)
	if err == sql.ErrNoRows {
		return nil, NotFound("user", v)
	}
	return u, s.mapErr("get user", err)
}

// UserByEmail finds a user by e-mail (compared lower-cased).
func (s *Store) UserByEmail(ctx context.Context, email string) (*tributary.User, error) {
	return s.userBy(ctx, "email", strings.ToLower(email))
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id string) (*tributary.User, error) {
	return s.userBy(ctx, "id", id)
}

// CreateSession stores a login session.
func (s *Store) CreateSession(ctx context.Context, ls *tributary.Session) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO login_sessions (id, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		ls.ID, ls.UserID, ls.CSRFToken, ls.CreatedAt.UTC(), ls.ExpiresAt.UTC())
	return s.mapErr("create session", err)
}

// SessionByID returns a login session, expired or not; callers check ExpiresAt.
func (s *Store) SessionByID(ctx context.Context, id string) (*tributary.Session, error) {
	ls := &tributary.Session{}
	err := s.DB.QueryRowContext(ctx, `SELECT id, user_id, csrf_token, created_at, expires_at FROM login_sessions WHERE id = $1`, id).
		Scan(&ls.ID, &ls.UserID, &ls.CSRFToken, &ls.CreatedAt, &ls.ExpiresAt)
	if err == sql.ErrNoRows {
		return nil, NotFound("session", "")
	}
	return ls, s.mapErr("get session", err)
}

// DeleteSession removes a login session (logout).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_sessions WHERE id = $1`, id)
	return s.mapErr("delete session", err)
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_sessions WHERE expires_at < $1`, now.UTC())
	return s.mapErr("delete expired sessions", err)
}

const siteCols = `id, domain, name, currency, timezone, created_at, updated_at, locale`

func scanSite(row Scanner) (*tributary.Site, error) {
	st := &tributary.Site{}
	err := row.Scan(&st.ID, &st.Domain, &st.Name, &st.Currency, &st.Timezone, &st.CreatedAt, &st.UpdatedAt, &st.Locale)
	return st, err
}

// CreateSite inserts a site.
func (s *Store) CreateSite(ctx context.Context, st *tributary.Site) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO sites (`+siteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		st.ID, st.Domain, st.Name, st.Currency, st.Timezone, st.CreatedAt.UTC(), st.UpdatedAt.UTC(), st.Locale)
	return s.mapErr("create site", err)
}

// Site returns one site.
func (s *Store) Site(ctx context.Context, id string) (*tributary.Site, error) {
	st, err := scanSite(s.DB.QueryRowContext(ctx, `SELECT `+siteCols+` FROM sites WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, NotFound("site", id)
	}
	return st, s.mapErr("get site", err)
}

// Sites lists every site, oldest first.
func (s *Store) Sites(ctx context.Context) ([]*tributary.Site, error) {
	out, err := Query(ctx, s.DB, scanSite, `SELECT `+siteCols+` FROM sites ORDER BY created_at, id`)
	return out, s.mapErr("list sites", err)
}

// UpdateSite replaces the mutable fields of a site.
func (s *Store) UpdateSite(ctx context.Context, st *tributary.Site) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE sites SET domain = $2, name = $3, currency = $4, timezone = $5, updated_at = $6, locale = $7 WHERE id = $1`,
		st.ID, st.Domain, st.Name, st.Currency, st.Timezone, st.UpdatedAt.UTC(), st.Locale)
	if err != nil {
		return s.mapErr("update site", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("site", st.ID)
	}
	return nil
}

// DeleteSite removes a site with its keys, Stripe endpoints and webhook log in one transaction.
func (s *Store) DeleteSite(ctx context.Context, id string) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return s.unavailable("delete site", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE id = $1`, id)
	if err != nil {
		return s.mapErr("delete site", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("site", id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE starts_with(key, $1)`, "site:"+id+":"); err != nil {
		return s.mapErr("delete site settings", err)
	}
	for _, table := range []string{"api_keys", "stripe_endpoints", "stripe_event_ids", "webhook_deliveries", "server_event_ids", "revenue_events", "event_kinds", "api_subscriptions", "stripe_objects", "payments", "destinations", "destination_deliveries", "destination_settings"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE site_id = $1`, id); err != nil {
			return s.mapErr("delete site from "+table, err)
		}
	}
	return s.mapErr("delete site", tx.Commit())
}

const keyCols = `id, site_id, name, prefix, hash, scopes, rate_limit, created_at, last_used_at, revoked_at`

func scanKey(row Scanner) (*tributary.APIKey, error) {
	k := &tributary.APIKey{}
	var scopes string
	var used, revoked sql.NullTime
	if err := row.Scan(&k.ID, &k.SiteID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.RateLimit, &k.CreatedAt, &used, &revoked); err != nil {
		return nil, err
	}
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	if used.Valid {
		t := used.Time
		k.LastUsedAt = &t
	}
	if revoked.Valid {
		t := revoked.Time
		k.RevokedAt = &t
	}
	return k, nil
}

// CreateAPIKey stores a key (its hash only).
func (s *Store) CreateAPIKey(ctx context.Context, k *tributary.APIKey) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO api_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
		k.ID, k.SiteID, k.Name, k.Prefix, k.Hash, strings.Join(k.Scopes, ","), k.RateLimit, k.CreatedAt.UTC())
	return s.mapErr("create api key", err)
}

// APIKeys lists a site's keys, revoked ones included, oldest first.
func (s *Store) APIKeys(ctx context.Context, siteID string) ([]*tributary.APIKey, error) {
	out, err := Query(ctx, s.DB, scanKey, `SELECT `+keyCols+` FROM api_keys WHERE site_id = $1 ORDER BY created_at, id`, siteID)
	return out, s.mapErr("list api keys", err)
}

// APIKeyByHash finds a key by the hash of its secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*tributary.APIKey, error) {
	k, err := scanKey(s.DB.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = $1`, hash))
	if err == sql.ErrNoRows {
		return nil, NotFound("api key", "")
	}
	return k, s.mapErr("get api key", err)
}

// RevokeAPIKey marks a key revoked; revoking twice keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, siteID, id string, at time.Time) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) WHERE site_id = $1 AND id = $2`, siteID, id, at.UTC())
	if err != nil {
		return s.mapErr("revoke api key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return NotFound("api key", id)
	}
	return nil
}

// TouchAPIKey records the last use of a key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	// Concurrent updates of one row conflict in DuckDB; a process-wide lock orders them.
	s.Writes.Lock()
	defer s.Writes.Unlock()
	_, err := s.DB.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, at.UTC())
	return s.mapErr("touch api key", err)
}

// Setting returns a server-wide setting.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", NotFound("setting", key)
	}
	return v, s.mapErr("get setting", err)
}

// PutSetting stores value under key (replacing it); an empty value removes the key.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	s.Writes.Lock()
	defer s.Writes.Unlock()
	if value == "" {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key)
		return s.mapErr("delete setting", err)
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.mapErr("put setting", err)
}

// SetSettingIfAbsent stores value unless key has one, and returns the stored value.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", s.mapErr("set setting", err)
	}
	return s.Setting(ctx, key)
}
