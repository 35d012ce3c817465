CREATE TABLE exchange_rates (
    date     VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    per_eur  VARCHAR NOT NULL,
    PRIMARY KEY (date, currency)
);
