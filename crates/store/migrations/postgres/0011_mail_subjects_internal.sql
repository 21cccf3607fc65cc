-- The subject of mail that came in is read only by the people working the case (the event
-- is internal), so only they may find it by search: earlier versions indexed it for
-- everyone on the case, reviewers and external parties included.
UPDATE case_search s SET internal = TRUE
FROM events e
WHERE e.case_id = s.case_id AND e.seq = s.seq AND e.kind = 'mail_received';
