-- The in-app inbox. Ids are ULIDs, so id order is time order and the id is the page cursor.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    title      TEXT NOT NULL,
    url        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
) STRICT;
CREATE INDEX notifications_member ON notifications (member_id, id);
CREATE INDEX notifications_unread ON notifications (member_id) WHERE read_at IS NULL;

-- A row means the member turned that type off; every type is on by default.
CREATE TABLE notification_muted (
    member_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    PRIMARY KEY (member_id, type)
) STRICT;
