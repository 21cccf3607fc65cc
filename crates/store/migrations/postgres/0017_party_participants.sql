-- Parties (from the organisation's registry) take part in cases: each invited party is a
-- participant with its own reply address, so its mail joins its own thread, and its own
-- portal token (stored as a hash, replaceable). `party_read_seq` and `team_read_seq` are
-- how far each side read the party's thread, for unread markers; reading is not an event
-- of the case, so they live here.
ALTER TABLE participants DROP CONSTRAINT participants_role_check;
ALTER TABLE participants ADD CONSTRAINT participants_role_check
    CHECK (role IN ('reporter', 'team', 'party'));
ALTER TABLE participants ADD COLUMN party_id BIGINT REFERENCES parties (id);
ALTER TABLE participants ADD COLUMN token_hash BYTEA UNIQUE;
ALTER TABLE participants ADD COLUMN party_read_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN team_read_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE participants ADD CONSTRAINT participants_party_check
    CHECK ((role = 'party') = (party_id IS NOT NULL));
ALTER TABLE participants ADD CONSTRAINT participants_party_token_check
    CHECK ((role = 'party') = (token_hash IS NOT NULL));
CREATE UNIQUE INDEX participants_party ON participants (case_id, party_id)
    WHERE party_id IS NOT NULL;
