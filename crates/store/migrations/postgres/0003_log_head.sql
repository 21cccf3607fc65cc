-- The last event of each case's log, kept beside the case: a log cut short at its end is
-- still a valid chain, so verification compares it with this head.
ALTER TABLE cases ADD COLUMN head_seq BIGINT;
ALTER TABLE cases ADD COLUMN head_hash TEXT COLLATE "C";
UPDATE cases SET
    head_seq = (SELECT MAX(seq) FROM events e WHERE e.case_id = cases.id),
    head_hash = (SELECT hash FROM events e WHERE e.case_id = cases.id ORDER BY seq DESC LIMIT 1);
