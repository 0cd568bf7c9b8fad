-- The append-only event log. seq is the rowid: appends go to the end of the b-tree.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    message_id   TEXT   NOT NULL,
    type         TEXT   NOT NULL,
    event        TEXT   NOT NULL DEFAULT '',
    user_id      TEXT   NOT NULL DEFAULT '',
    anonymous_id TEXT   NOT NULL DEFAULT '',
    profile_id   TEXT   NOT NULL DEFAULT '',
    source       TEXT   NOT NULL,
    ts           BIGINT NOT NULL, -- corrected timestamp, Unix ms
    received_at  BIGINT NOT NULL,
    payload      TEXT   NOT NULL  -- the whole event as JSON
);
CREATE UNIQUE INDEX events_message_id ON events (message_id);
CREATE INDEX events_ts ON events (ts);
