-- Advisories: each has its own hash-chained log of events (drafted ... withdrawn), chained
-- like a case's with the advisory's id in the case id's place, and covers one or more
-- cases. `number` names it within its organisation (KAMAILIO-2026-0001), given in order per
-- organisation and year. The head records where the chain ends, so a log cut short at its
-- end is caught.
CREATE TABLE advisories (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id),
    year       INTEGER NOT NULL,
    ordinal    INTEGER NOT NULL CHECK (ordinal >= 1),
    number     TEXT NOT NULL,
    head_seq   INTEGER NOT NULL DEFAULT 0,
    head_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, year, ordinal),
    UNIQUE (org_id, number)
);
CREATE TABLE advisory_cases (
    advisory_id INTEGER NOT NULL REFERENCES advisories (id),
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    PRIMARY KEY (advisory_id, case_id)
);
CREATE INDEX advisory_cases_case ON advisory_cases (case_id);
CREATE TABLE advisory_events (
    advisory_id INTEGER NOT NULL REFERENCES advisories (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (advisory_id, seq)
);
CREATE TRIGGER advisory_events_no_update BEFORE UPDATE ON advisory_events
BEGIN
    SELECT RAISE(ABORT, 'advisory events are append-only');
END;
CREATE TRIGGER advisory_events_no_delete BEFORE DELETE ON advisory_events
BEGIN
    SELECT RAISE(ABORT, 'advisory events are append-only');
END;
