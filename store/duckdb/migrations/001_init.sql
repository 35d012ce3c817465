-- Meta state: owner, login sessions, sites, API keys.
CREATE TABLE users (
    id            VARCHAR PRIMARY KEY,
    email         VARCHAR NOT NULL UNIQUE,
    password_hash VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE login_sessions (
    id         VARCHAR PRIMARY KEY,
    user_id    VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE sites (
    id         VARCHAR PRIMARY KEY,
    domain     VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    currency   VARCHAR NOT NULL,
    timezone   VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id           VARCHAR PRIMARY KEY,
    site_id      VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    prefix       VARCHAR NOT NULL,
    hash         VARCHAR NOT NULL UNIQUE,
    scopes       VARCHAR NOT NULL,
    rate_limit   INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

-- Facts: events. Timestamps are UTC. Props are a JSON object of strings.
CREATE TABLE events (
    site_id           VARCHAR NOT NULL,
    ts                TIMESTAMP NOT NULL,
    name              VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    visitor_id        VARCHAR NOT NULL,
    session_id        VARCHAR NOT NULL,
    hostname          VARCHAR NOT NULL,
    path              VARCHAR NOT NULL,
    referrer          VARCHAR NOT NULL,
    referrer_source   VARCHAR NOT NULL,
    channel           VARCHAR NOT NULL,
    utm_source        VARCHAR NOT NULL,
    utm_medium        VARCHAR NOT NULL,
    utm_campaign      VARCHAR NOT NULL,
    utm_term          VARCHAR NOT NULL,
    utm_content       VARCHAR NOT NULL,
    click_id_platform VARCHAR NOT NULL,
    click_id          VARCHAR NOT NULL,
    country           VARCHAR NOT NULL,
    region            VARCHAR NOT NULL,
    browser           VARCHAR NOT NULL,
    os                VARCHAR NOT NULL,
    device            VARCHAR NOT NULL,
    screen_width      INTEGER NOT NULL,
    props             VARCHAR NOT NULL
);
