-- The security team: accounts, their organisations and case grants, sessions, API tokens,
-- sign-in throttling; the dashboard's projection columns and full-text index.
-- Secrets (passwords, session ids, API tokens, recovery codes) are stored only as hashes.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- Lowercased by the application; the unique key people sign in with.
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    -- PHC string (argon2id).
    password_hash TEXT NOT NULL,
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    -- A second factor is demanded at sign-in; enrolment happens at the first sign-in.
    totp_required BOOLEAN NOT NULL DEFAULT FALSE,
    -- Base32 RFC 6238 secret, set once the person has proved they hold it.
    totp_secret   TEXT,
    -- The last time step accepted, so a code is never accepted twice.
    totp_last_step INTEGER,
    disabled_at   TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users (id),
    org_id  INTEGER NOT NULL REFERENCES organisations (id),
    role    TEXT NOT NULL CHECK (role IN ('officer', 'member', 'reviewer')),
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id);

-- Access to one case for someone outside its organisation's team. Written in the same
-- transaction as the access_changed event that records it.
CREATE TABLE case_grants (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    grant_  TEXT NOT NULL CHECK (grant_ IN ('member', 'reviewer', 'external')),
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_grants_user ON case_grants (user_id);

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    -- 'password': the password was right, the second factor is still due.
    stage        TEXT NOT NULL CHECK (stage IN ('password', 'complete')),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    -- Space-separated scopes.
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins by key ('account:<email>' or 'ip:<address>'), counted over a window.
CREATE TABLE signin_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (key, at);

ALTER TABLE case_projections ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE case_projections ADD COLUMN severity TEXT;
ALTER TABLE case_projections ADD COLUMN cvss TEXT;
ALTER TABLE case_projections ADD COLUMN officer_id INTEGER;

-- Searchable text of cases: titles, descriptions, messages and notes, one row per source
-- event. `internal` rows (notes) are searched only for people who may read notes.
CREATE VIRTUAL TABLE case_search USING fts5 (
    body,
    case_id UNINDEXED,
    seq UNINDEXED,
    internal UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
