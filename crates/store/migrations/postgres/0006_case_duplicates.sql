-- Which case a declined case duplicates, written with the decline, so the original case
-- finds its duplicates (and their reporters, for credit) without reading event payloads.
-- A later reopen leaves the row: readers check the duplicate's log.
CREATE TABLE case_duplicates (
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    duplicate_of BIGINT NOT NULL REFERENCES cases (id),
    PRIMARY KEY (case_id, duplicate_of)
);
CREATE INDEX case_duplicates_of ON case_duplicates (duplicate_of);
INSERT INTO case_duplicates (case_id, duplicate_of)
SELECT DISTINCT case_id, (payload::jsonb ->> 'duplicate_of')::bigint FROM events
WHERE kind = 'declined' AND payload::jsonb ? 'duplicate_of'
ON CONFLICT DO NOTHING;
