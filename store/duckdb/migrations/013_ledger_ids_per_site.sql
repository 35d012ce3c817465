-- Ledger and MRR-movement ids are unique per site, not globally: one Stripe account may feed several
-- sites, and the same payment seen by a second site's endpoint is that site's money too. DuckDB cannot
-- change a primary key in place, so both tables are rebuilt.
CREATE TABLE ledger_013 (
    id                 VARCHAR NOT NULL,
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
    recorded_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, id)
);
INSERT INTO ledger_013 SELECT id, site_id, livemode, kind, payment_id, occurred_at, amount, currency, reporting_amount,
    reporting_currency, rate, rate_date, converted, customer_id, email, subscription_id, product, source, detail, recorded_at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_013 RENAME TO ledger;

CREATE TABLE mrr_movements_013 (
    id                 VARCHAR NOT NULL,
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
    source             VARCHAR NOT NULL,
    PRIMARY KEY (site_id, id)
);
INSERT INTO mrr_movements_013 SELECT id, site_id, livemode, subscription_id, customer_id, ts, kind, delta, currency,
    reporting_delta, reporting_currency, converted, source FROM mrr_movements;
DROP TABLE mrr_movements;
ALTER TABLE mrr_movements_013 RENAME TO mrr_movements;
