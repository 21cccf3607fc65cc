-- Timestamps: TEXT, RFC 3339 UTC with nanosecond precision ("...T..:..:...000000000Z").
-- Dates: TEXT 'YYYY-MM-DD'. Event payloads: TEXT, the exact bytes the hash covers.

CREATE TABLE organisations (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE policy_versions (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id),
    version    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, version)
);

CREATE TABLE products (
    id     INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations (id),
    slug   TEXT NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY,
    product_id          INTEGER NOT NULL REFERENCES products (id),
    policy_version_id   INTEGER NOT NULL REFERENCES policy_versions (id),
    reporter_token_hash BLOB NOT NULL,
    opened_at           TEXT NOT NULL
);
CREATE INDEX cases_product ON cases (product_id);

CREATE TABLE events (
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;

-- The log is append-only. verify_chain does not trust these triggers.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE case_projections (
    case_id       INTEGER PRIMARY KEY REFERENCES cases (id),
    state         TEXT NOT NULL,
    next_due      TEXT,
    next_due_kind TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX case_projections_next_due ON case_projections (next_due);
