-- One conversation per pair of members: member_a is the smaller id, so the pair's key does not
-- depend on who wrote first.
CREATE TABLE dm_conversations (
    id           TEXT PRIMARY KEY,
    member_a     TEXT NOT NULL,
    member_b     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_excerpt TEXT NOT NULL DEFAULT '',
    last_at      INTEGER NOT NULL,
    UNIQUE (member_a, member_b),
    CHECK (member_a < member_b)
) STRICT;

-- Each participant's side: whom they talk to, when it last moved, and how many messages they
-- have not read (kept as a counter so inbox badges need no scan).
CREATE TABLE dm_members (
    conversation_id TEXT NOT NULL REFERENCES dm_conversations (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL,
    other_id        TEXT NOT NULL,
    last_at         INTEGER NOT NULL,
    unread          INTEGER NOT NULL DEFAULT 0,
    read_at         INTEGER,
    PRIMARY KEY (conversation_id, member_id)
) STRICT;
CREATE INDEX dm_members_member ON dm_members (member_id, last_at);

-- body is the Markdown source as written; rendering and sanitising happen at the edge.
CREATE TABLE dm_messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES dm_conversations (id) ON DELETE CASCADE,
    sender_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX dm_messages_conversation ON dm_messages (conversation_id, id);
CREATE INDEX dm_messages_sender ON dm_messages (sender_id, created_at);
