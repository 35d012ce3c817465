-- Destinations (issue 22): where paid conversions are sent back, with their outbox. The credential is
-- stored sealed (secretbox); config is a JSON object of the settings that are not secret.
CREATE TABLE destinations (
    id            VARCHAR PRIMARY KEY,
    site_id       VARCHAR NOT NULL,
    type          VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    config        VARCHAR NOT NULL,
    sealed_secret VARCHAR NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE TABLE destination_deliveries (
    id              VARCHAR PRIMARY KEY,
    site_id         VARCHAR NOT NULL,
    destination_id  VARCHAR NOT NULL,
    entry_id        VARCHAR NOT NULL,
    payment_id      VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    livemode        BOOLEAN NOT NULL,
    status          VARCHAR NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      VARCHAR NOT NULL,
    request         VARCHAR NOT NULL,
    response        INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    -- A sender's claim: hidden from other senders until then (released at start on the embedded store).
    lease_until     TIMESTAMP,
    UNIQUE (destination_id, entry_id)
);
CREATE TABLE destination_settings (
    site_id          VARCHAR PRIMARY KEY,
    consent_required BOOLEAN NOT NULL,
    -- The attribution model that picks the credited visit ('' = the default, last non-direct).
    model            VARCHAR NOT NULL DEFAULT ''
);
