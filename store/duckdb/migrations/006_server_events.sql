CREATE TABLE server_event_ids (
    site_id  VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, event_id)
);

CREATE TABLE revenue_events (
    site_id       VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    amount_path   VARCHAR NOT NULL,
    unit          VARCHAR NOT NULL,
    currency_path VARCHAR NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, name)
);

CREATE TABLE event_kinds (
    site_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL,
    PRIMARY KEY (site_id, name)
);

CREATE TABLE api_subscriptions (
    site_id         VARCHAR NOT NULL,
    subscription_id VARCHAR NOT NULL,
    customer_id     VARCHAR NOT NULL,
    mrr             BIGINT NOT NULL,
    currency        VARCHAR NOT NULL,
    active          BOOLEAN NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, subscription_id)
);
