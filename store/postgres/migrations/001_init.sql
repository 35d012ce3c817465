-- The MetaStore on PostgreSQL: the same tables as the embedded store's (store/duckdb/migrations), with
-- timestamps as UTC wall time (TIMESTAMP), money as BIGINT minor units.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE TABLE login_sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    domain     TEXT NOT NULL,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    locale     TEXT NOT NULL DEFAULT 'en-US'
);
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    rate_limit   INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE stripe_endpoints (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL,
    mode       TEXT NOT NULL,
    secrets    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE stripe_event_ids (
    site_id  TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (site_id, event_id)
);
CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    event_id      TEXT NOT NULL,
    type          TEXT NOT NULL,
    api_version   TEXT NOT NULL,
    livemode      BOOLEAN NOT NULL,
    event_created TIMESTAMP NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    processed_at  TIMESTAMP,
    processing_ms BIGINT NOT NULL,
    lease_until   TIMESTAMP,
    payload       BYTEA
);
-- The inbox query: pending work, and leases to take over, oldest event first.
CREATE INDEX webhook_deliveries_work ON webhook_deliveries (status, event_created, received_at, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (site_id, received_at DESC, id DESC);
CREATE TABLE exchange_rates (
    date     TEXT NOT NULL,
    currency TEXT NOT NULL,
    per_eur  TEXT NOT NULL,
    PRIMARY KEY (date, currency)
);
CREATE TABLE server_event_ids (
    site_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, event_id)
);
CREATE TABLE revenue_events (
    site_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    amount_path   TEXT NOT NULL,
    unit          TEXT NOT NULL,
    currency_path TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, name)
);
CREATE TABLE event_kinds (
    site_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    PRIMARY KEY (site_id, name)
);
CREATE TABLE api_subscriptions (
    site_id         TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    mrr             BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, subscription_id)
);
CREATE TABLE stripe_objects (
    site_id       TEXT NOT NULL,
    id            TEXT NOT NULL,
    type          TEXT NOT NULL,
    livemode      BOOLEAN NOT NULL,
    event_created TIMESTAMP NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (site_id, id)
);
CREATE TABLE payments (
    site_id  TEXT NOT NULL,
    id       TEXT NOT NULL,
    livemode BOOLEAN NOT NULL,
    status   TEXT NOT NULL,
    created  TIMESTAMP NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (site_id, id)
);
-- API-key token buckets shared by every node (ratelimit.Take's state).
CREATE TABLE rate_buckets (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    last   TIMESTAMP NOT NULL
);
