-- Mail is de-duplicated and threaded per organisation: the same message sent to two
-- organisations (a Cc, a forward) is a report to each, and one organisation's Message-IDs
-- must neither swallow nor route another's mail. The organisation is the case's, through
-- the policy version it was opened under.
ALTER TABLE raw_messages ADD COLUMN org_id BIGINT REFERENCES organisations (id);
UPDATE raw_messages r SET org_id = pv.org_id
FROM cases c JOIN policy_versions pv ON pv.id = c.policy_version_id
WHERE c.id = r.case_id;
ALTER TABLE raw_messages ALTER COLUMN org_id SET NOT NULL;
ALTER TABLE raw_messages DROP CONSTRAINT raw_messages_message_id_key;
ALTER TABLE raw_messages DROP CONSTRAINT raw_messages_pkey;
ALTER TABLE raw_messages ADD PRIMARY KEY (org_id, sha256);
ALTER TABLE raw_messages ADD CONSTRAINT raw_messages_org_message_id_key UNIQUE (org_id, message_id);

ALTER TABLE mail_threads ADD COLUMN org_id BIGINT REFERENCES organisations (id);
UPDATE mail_threads t SET org_id = pv.org_id
FROM cases c JOIN policy_versions pv ON pv.id = c.policy_version_id
WHERE c.id = t.case_id;
ALTER TABLE mail_threads ALTER COLUMN org_id SET NOT NULL;
ALTER TABLE mail_threads DROP CONSTRAINT mail_threads_pkey;
ALTER TABLE mail_threads ADD PRIMARY KEY (org_id, message_id);
