-- Money facts. id is deterministic (derived from source object ids and the change recorded), so the
-- primary key makes every write idempotent.
CREATE TABLE ledger (
    id                 VARCHAR PRIMARY KEY,
    site_id            VARCHAR NOT NULL,
    livemode           BOOLEAN NOT NULL,
    kind               VARCHAR NOT NULL,
    payment_id         VARCHAR NOT NULL,
    occurred_at        TIMESTAMP NOT NULL,
    amount             BIGINT NOT NULL,
    currency           VARCHAR NOT NULL,
    reporting_amount   BIGINT NOT NULL,
    reporting_currency VARCHAR NOT NULL,
    rate               VARCHAR NOT NULL,
    rate_date          VARCHAR NOT NULL,
    converted          BOOLEAN NOT NULL,
    customer_id        VARCHAR NOT NULL,
    email              VARCHAR NOT NULL,
    subscription_id    VARCHAR NOT NULL,
    product            VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    detail             VARCHAR NOT NULL,
    recorded_at        TIMESTAMP NOT NULL
);

-- Identity facts: visitor ↔ person ↔ customer ↔ email, and payment → visitor/session links.
CREATE TABLE identities (
    site_id     VARCHAR NOT NULL,
    ts          TIMESTAMP NOT NULL,
    visitor_id  VARCHAR NOT NULL,
    session_id  VARCHAR NOT NULL,
    person_id   VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    email       VARCHAR NOT NULL,
    payment_id  VARCHAR NOT NULL,
    link_method VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    -- Synthetic-session source of an unattributed payment link.
    channel         VARCHAR NOT NULL,
    referrer_source VARCHAR NOT NULL,
    utm_source      VARCHAR NOT NULL,
    utm_medium      VARCHAR NOT NULL,
    utm_campaign    VARCHAR NOT NULL
);

-- Small server-wide settings, e.g. the secret behind cookieless visitor hashes.
CREATE TABLE settings (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
