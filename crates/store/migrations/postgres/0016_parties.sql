-- The parties an organisation coordinates with under embargo: vendors, distributions and
-- service providers, each with its security contacts, the products it ships or runs, its
-- default embargo terms and, when known, its OpenPGP key. Lists (contacts, products) are
-- one item per line; the core checks every entry before it is written.
CREATE TABLE parties (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organisations (id),
    slug            TEXT COLLATE "C" NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('vendor', 'distribution', 'service-provider')),
    contacts        TEXT NOT NULL,
    products        TEXT NOT NULL,
    embargo         TEXT,
    terms           TEXT NOT NULL,
    key_fingerprint TEXT,
    key_armored     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (org_id, slug),
    CHECK ((key_fingerprint IS NULL) = (key_armored IS NULL))
);
