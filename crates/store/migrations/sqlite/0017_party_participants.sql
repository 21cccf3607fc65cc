-- Parties (from the organisation's registry) take part in cases: each invited party is a
-- participant with its own reply address, so its mail joins its own thread, and its own
-- portal token (stored as a hash, replaceable). `party_read_seq` and `team_read_seq` are
-- how far each side read the party's thread, for unread markers; reading is not an event
-- of the case, so they live here. SQLite cannot change a CHECK constraint in place: the
-- table is made anew with its rows.
CREATE TABLE participants_new (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    role           TEXT NOT NULL CHECK (role IN ('reporter', 'team', 'party')),
    user_id        INTEGER REFERENCES users (id),
    party_id       INTEGER REFERENCES parties (id),
    reply_tag      TEXT NOT NULL UNIQUE
                   CHECK (length(reply_tag) = 32 AND reply_tag NOT GLOB '*[^0-9a-f]*'),
    joined_at      TEXT NOT NULL,
    token_hash     BLOB UNIQUE,
    party_read_seq INTEGER NOT NULL DEFAULT 0,
    team_read_seq  INTEGER NOT NULL DEFAULT 0,
    CHECK ((role = 'team') = (user_id IS NOT NULL)),
    CHECK ((role = 'party') = (party_id IS NOT NULL)),
    CHECK ((role = 'party') = (token_hash IS NOT NULL))
);
INSERT INTO participants_new (id, case_id, role, user_id, reply_tag, joined_at)
SELECT id, case_id, role, user_id, reply_tag, joined_at FROM participants;
DROP TABLE participants;
ALTER TABLE participants_new RENAME TO participants;
CREATE UNIQUE INDEX participants_reporter ON participants (case_id) WHERE role = 'reporter';
CREATE UNIQUE INDEX participants_member ON participants (case_id, user_id)
    WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX participants_party ON participants (case_id, party_id)
    WHERE party_id IS NOT NULL;
