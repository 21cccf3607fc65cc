-- Work a migration needs that SQL alone cannot do, such as recomputing every case's
-- projection when the rules that derive it changed. The first vulndesk command to open the
-- database after migrating does it, then deletes the row.
CREATE TABLE maintenance_requests (
    task         TEXT PRIMARY KEY,
    requested_at TEXT NOT NULL
);
-- Since this version a reporter's permission to publish is never a case's next due date
-- and the patch grace runs until the patch is available: stored projections may differ
-- from a rebuild.
INSERT INTO maintenance_requests (task, requested_at)
VALUES ('rebuild-projections', '2026-11-30T00:00:00Z');
