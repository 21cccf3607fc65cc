-- The SSVC decision of a case (track, track*, attend, act), for the dashboard's column and
-- filter; derived from the log like the rest of the projection (`vulndesk admin rebuild`
-- fills it for cases prioritised before this column existed: none were).
ALTER TABLE case_projections ADD COLUMN ssvc TEXT;
