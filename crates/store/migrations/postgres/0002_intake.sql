-- Reporter intake: per-case reply tags, attachments, verbatim inbound mail, Message-ID
-- threading, OpenPGP keys, and the job outbox. Timestamps as in 0001 (TEXT, RFC 3339 UTC with
-- nine fractional digits); new timestamp columns use the "C" collation so that text order is
-- time order whatever the database's locale.

-- Existing cases get a tag from gen_random_uuid() (built in since PostgreSQL 13, drawn from
-- the strong random source); md5 of two of them gives 32 hex characters with no fixed version
-- nibbles. random() is not used: reply tags are secrets.
ALTER TABLE cases ADD COLUMN reply_tag TEXT COLLATE "C";
UPDATE cases SET reply_tag = md5(gen_random_uuid()::text || gen_random_uuid()::text);
ALTER TABLE cases ALTER COLUMN reply_tag SET NOT NULL;
ALTER TABLE cases ADD CONSTRAINT cases_reply_tag_key UNIQUE (reply_tag);
ALTER TABLE cases ADD CONSTRAINT cases_reply_tag_shape CHECK (reply_tag ~ '^[0-9a-f]{32}$');

-- Content-addressed per case: the same bytes uploaded twice are stored once.
CREATE TABLE attachments (
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size >= 0),
    data         BYTEA NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, sha256)
);

-- The UNIQUE Message-ID is what makes a re-delivered or concurrently ingested mail fail as a
-- duplicate; several messages without a Message-ID (NULL) are allowed.
CREATE TABLE raw_messages (
    sha256      TEXT PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    message_id  TEXT UNIQUE,
    source      TEXT NOT NULL,
    data        BYTEA NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX raw_messages_case ON raw_messages (case_id);

CREATE TABLE mail_threads (
    message_id TEXT PRIMARY KEY,
    case_id    BIGINT NOT NULL REFERENCES cases (id)
);
CREATE INDEX mail_threads_case ON mail_threads (case_id);

CREATE TABLE reporter_keys (
    case_id     BIGINT PRIMARY KEY REFERENCES cases (id),
    fingerprint TEXT NOT NULL,
    armored     TEXT NOT NULL,
    set_at      TEXT COLLATE "C" NOT NULL
);

CREATE TABLE org_keys (
    org_id           BIGINT PRIMARY KEY REFERENCES organisations (id),
    fingerprint      TEXT NOT NULL,
    public_armored   TEXT NOT NULL,
    secret_protected BYTEA NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      BIGINT REFERENCES cases (id),
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts     BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_after    TEXT COLLATE "C" NOT NULL,
    leased_until TEXT COLLATE "C",
    last_error   TEXT,
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL,
    finished_at  TEXT COLLATE "C",
    CHECK ((status = 'pending') = (finished_at IS NULL))
);
-- Claiming scans pending jobs of one kind by run_after.
CREATE INDEX jobs_claim ON jobs (status, kind, run_after);
CREATE INDEX jobs_case ON jobs (case_id);
