CREATE TABLE stripe_endpoints (
    id         VARCHAR PRIMARY KEY,
    site_id    VARCHAR NOT NULL,
    mode       VARCHAR NOT NULL,
    secrets    VARCHAR NOT NULL, -- newest first, separated by spaces (whsec_ secrets contain none)
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One row per received Stripe event id per site: the guard that makes duplicate deliveries a no-op.
CREATE TABLE stripe_event_ids (
    site_id  VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    PRIMARY KEY (site_id, event_id)
);

-- Every delivery; the accepted ones with their raw body form the durable inbox.
CREATE TABLE webhook_deliveries (
    id            VARCHAR PRIMARY KEY,
    site_id       VARCHAR NOT NULL,
    endpoint_id   VARCHAR NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    event_id      VARCHAR NOT NULL,
    type          VARCHAR NOT NULL,
    api_version   VARCHAR NOT NULL,
    livemode      BOOLEAN NOT NULL,
    event_created TIMESTAMP NOT NULL,
    status        VARCHAR NOT NULL,
    error         VARCHAR NOT NULL,
    attempts      INTEGER NOT NULL,
    processed_at  TIMESTAMP,
    processing_ms BIGINT NOT NULL,
    lease_until   TIMESTAMP,
    payload       BLOB
);
