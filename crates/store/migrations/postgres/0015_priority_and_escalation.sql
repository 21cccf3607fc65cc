-- The SSVC decision of a case (track, track*, attend, act) and whether its next deadline
-- was escalated, for the dashboard's columns and filters. Derived from the log like the
-- rest of the projection; no case had either before these columns existed.
ALTER TABLE case_projections ADD COLUMN ssvc TEXT;
ALTER TABLE case_projections ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
