-- Destinations (issue 22): where paid conversions are sent back, with their outbox. The credential is
-- stored sealed (secretbox); config is a JSON object of the settings that are not secret.
CREATE TABLE destinations (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    config        TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE TABLE destination_deliveries (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL,
    destination_id  TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    livemode        BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL,
    request         TEXT NOT NULL,
    response        INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    -- A sender's claim: hidden from other senders until then (released at start on the embedded store).
    lease_until     TIMESTAMP,
    UNIQUE (destination_id, entry_id)
);
CREATE TABLE destination_settings (
    site_id          TEXT PRIMARY KEY,
    consent_required BOOLEAN NOT NULL,
    -- The attribution model that picks the credited visit ('' = the default, last non-direct).
    model            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX destination_deliveries_due ON destination_deliveries (status, next_attempt_at);
