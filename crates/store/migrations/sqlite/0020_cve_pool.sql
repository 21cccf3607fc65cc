-- The CVE IDs an organisation that is a CNA reserved at the CVE Program, each given to one
-- advisory at most (`advisory_id`, set once and never taken back).
CREATE TABLE cve_pool (
    cve         TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    reserved_at TEXT NOT NULL,
    advisory_id INTEGER UNIQUE REFERENCES advisories (id),
    taken_at    TEXT
);
CREATE INDEX cve_pool_org ON cve_pool (org_id, advisory_id);
