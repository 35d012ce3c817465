CREATE TABLE stripe_objects (
    site_id       VARCHAR NOT NULL,
    id            VARCHAR NOT NULL,
    type          VARCHAR NOT NULL,
    livemode      BOOLEAN NOT NULL,
    event_created TIMESTAMP NOT NULL,
    data          VARCHAR NOT NULL,
    PRIMARY KEY (site_id, id)
);

CREATE TABLE payments (
    site_id    VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    livemode   BOOLEAN NOT NULL,
    status     VARCHAR NOT NULL,
    created    TIMESTAMP NOT NULL,
    data       VARCHAR NOT NULL, -- the whole record as JSON; the columns above are for listing
    PRIMARY KEY (site_id, id)
);
