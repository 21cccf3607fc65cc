-- Who takes part in a case by mail: its reporter, and team members who were written to
-- about it (a mention). Each has a reply address of their own, `security+<reply_tag>@…`,
-- so mail to it joins the case as that participant and is seen only by whom that
-- participant's role allows. The reporter's tag is the case's `reply_tag`, which mail sent
-- before this version carries.
CREATE TABLE participants (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    role      TEXT NOT NULL CHECK (role IN ('reporter', 'team')),
    user_id   INTEGER REFERENCES users (id),
    reply_tag TEXT NOT NULL UNIQUE
              CHECK (length(reply_tag) = 32 AND reply_tag NOT GLOB '*[^0-9a-f]*'),
    joined_at TEXT NOT NULL,
    CHECK ((role = 'team') = (user_id IS NOT NULL))
);
CREATE UNIQUE INDEX participants_reporter ON participants (case_id) WHERE role = 'reporter';
CREATE UNIQUE INDEX participants_member ON participants (case_id, user_id)
    WHERE user_id IS NOT NULL;
INSERT INTO participants (case_id, role, reply_tag, joined_at)
SELECT id, 'reporter', reply_tag, opened_at FROM cases;
