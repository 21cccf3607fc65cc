-- Mail is de-duplicated and threaded per organisation: the same message sent to two
-- organisations (a Cc, a forward) is a report to each, and one organisation's Message-IDs
-- must neither swallow nor route another's mail. The organisation is the case's, through
-- the policy version it was opened under.
CREATE TABLE raw_messages_per_org (
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    sha256      TEXT NOT NULL,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    message_id  TEXT,
    source      TEXT NOT NULL,
    data        BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (org_id, sha256),
    UNIQUE (org_id, message_id)
);
INSERT INTO raw_messages_per_org
    (org_id, sha256, case_id, message_id, source, data, received_at)
SELECT pv.org_id, r.sha256, r.case_id, r.message_id, r.source, r.data, r.received_at
FROM raw_messages r
JOIN cases c ON c.id = r.case_id
JOIN policy_versions pv ON pv.id = c.policy_version_id;
DROP TABLE raw_messages;
ALTER TABLE raw_messages_per_org RENAME TO raw_messages;
CREATE INDEX raw_messages_case ON raw_messages (case_id);

CREATE TABLE mail_threads_per_org (
    org_id     INTEGER NOT NULL REFERENCES organisations (id),
    message_id TEXT NOT NULL,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    PRIMARY KEY (org_id, message_id)
);
INSERT INTO mail_threads_per_org (org_id, message_id, case_id)
SELECT pv.org_id, t.message_id, t.case_id
FROM mail_threads t
JOIN cases c ON c.id = t.case_id
JOIN policy_versions pv ON pv.id = c.policy_version_id;
DROP TABLE mail_threads;
ALTER TABLE mail_threads_per_org RENAME TO mail_threads;
CREATE INDEX mail_threads_case ON mail_threads (case_id);
