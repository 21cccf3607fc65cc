-- People who answer for a party of the registry (a vendor's security contact with an
-- account): signed in, they reach the portal of every case the party is invited to,
-- without its secret link. An officer links and unlinks them; the account log records it.
CREATE TABLE party_accounts (
    party_id  INTEGER NOT NULL REFERENCES parties (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    linked_at TEXT NOT NULL,
    PRIMARY KEY (party_id, user_id)
);
CREATE INDEX party_accounts_user ON party_accounts (user_id);
