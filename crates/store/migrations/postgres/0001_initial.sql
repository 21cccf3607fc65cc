-- Timestamps: TEXT, RFC 3339 UTC with nanosecond precision ("...T..:..:...000000000Z").
-- Dates: TEXT 'YYYY-MM-DD'. Event payloads: TEXT (not jsonb), the exact bytes the hash covers.
-- Slugs use the "C" collation so ORDER BY agrees with SQLite's byte order.

CREATE TABLE organisations (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE policy_versions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES organisations (id),
    version    BIGINT NOT NULL,
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, version)
);

CREATE TABLE products (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organisations (id),
    slug   TEXT COLLATE "C" NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE cases (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id          BIGINT NOT NULL REFERENCES products (id),
    policy_version_id   BIGINT NOT NULL REFERENCES policy_versions (id),
    reporter_token_hash BYTEA NOT NULL,
    opened_at           TEXT NOT NULL
);
CREATE INDEX cases_product ON cases (product_id);

CREATE TABLE events (
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- The log is append-only. verify_chain does not trust this trigger.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE case_projections (
    case_id       BIGINT PRIMARY KEY REFERENCES cases (id),
    state         TEXT NOT NULL,
    next_due      TEXT,
    next_due_kind TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX case_projections_next_due ON case_projections (next_due);
