CREATE TABLE mrr_movements (
    id                 VARCHAR PRIMARY KEY,
    site_id            VARCHAR NOT NULL,
    livemode           BOOLEAN NOT NULL,
    subscription_id    VARCHAR NOT NULL,
    customer_id        VARCHAR NOT NULL,
    ts                 TIMESTAMP NOT NULL,
    kind               VARCHAR NOT NULL,
    delta              BIGINT NOT NULL,
    currency           VARCHAR NOT NULL,
    reporting_delta    BIGINT NOT NULL,
    reporting_currency VARCHAR NOT NULL,
    converted          BOOLEAN NOT NULL,
    source             VARCHAR NOT NULL
);
