-- Reporter intake: per-case reply tags, attachments, verbatim inbound mail, Message-ID
-- threading, OpenPGP keys, and the job outbox. Timestamps as in 0001 (TEXT, RFC 3339 UTC with
-- nine fractional digits, so text order is time order).

-- SQLite's ALTER TABLE cannot add a UNIQUE or NOT NULL column, and rebuilding `cases` would
-- mean rebuilding every table that references it. So: add the column, give existing cases a
-- tag (randomblob is SQLite's CSPRNG, seeded by the OS), then enforce uniqueness with an index
-- and presence and shape (32 lowercase hex characters) with triggers.
ALTER TABLE cases ADD COLUMN reply_tag TEXT;
UPDATE cases SET reply_tag = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX cases_reply_tag ON cases (reply_tag);
CREATE TRIGGER cases_reply_tag_insert BEFORE INSERT ON cases
WHEN NEW.reply_tag IS NULL OR length(NEW.reply_tag) <> 32 OR NEW.reply_tag GLOB '*[^0-9a-f]*'
BEGIN
    SELECT RAISE(ABORT, 'cases.reply_tag must be 32 lowercase hex characters');
END;
CREATE TRIGGER cases_reply_tag_update BEFORE UPDATE OF reply_tag ON cases
WHEN NEW.reply_tag IS NULL OR length(NEW.reply_tag) <> 32 OR NEW.reply_tag GLOB '*[^0-9a-f]*'
BEGIN
    SELECT RAISE(ABORT, 'cases.reply_tag must be 32 lowercase hex characters');
END;

-- Content-addressed per case: the same bytes uploaded twice are stored once.
CREATE TABLE attachments (
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL CHECK (size >= 0),
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);

-- The UNIQUE Message-ID is what makes a re-delivered or concurrently ingested mail fail as a
-- duplicate; several messages without a Message-ID (NULL) are allowed.
CREATE TABLE raw_messages (
    sha256      TEXT PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    message_id  TEXT UNIQUE,
    source      TEXT NOT NULL,
    data        BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX raw_messages_case ON raw_messages (case_id);

CREATE TABLE mail_threads (
    message_id TEXT PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id)
);
CREATE INDEX mail_threads_case ON mail_threads (case_id);

CREATE TABLE reporter_keys (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
    fingerprint TEXT NOT NULL,
    armored     TEXT NOT NULL,
    set_at      TEXT NOT NULL
);

CREATE TABLE org_keys (
    org_id           INTEGER PRIMARY KEY REFERENCES organisations (id),
    fingerprint      TEXT NOT NULL,
    public_armored   TEXT NOT NULL,
    secret_protected BLOB NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER REFERENCES cases (id),
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_after    TEXT NOT NULL,
    leased_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT,
    CHECK ((status = 'pending') = (finished_at IS NULL))
);
-- Claiming scans pending jobs of one kind by run_after.
CREATE INDEX jobs_claim ON jobs (status, kind, run_after);
CREATE INDEX jobs_case ON jobs (case_id);
