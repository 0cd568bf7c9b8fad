-- The append-only event log. seq orders appends; ts has a BRIN index, which stays tiny for
-- hundreds of millions of rows because events arrive roughly in time order.
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   TEXT   NOT NULL,
    type         TEXT   NOT NULL,
    event        TEXT   NOT NULL DEFAULT '',
    user_id      TEXT   NOT NULL DEFAULT '',
    anonymous_id TEXT   NOT NULL DEFAULT '',
    profile_id   TEXT   NOT NULL DEFAULT '',
    source       TEXT   NOT NULL,
    ts           BIGINT NOT NULL, -- corrected timestamp, Unix ms
    received_at  BIGINT NOT NULL,
    payload      JSONB  NOT NULL  -- the whole event
);
CREATE UNIQUE INDEX events_message_id ON events (message_id);
CREATE INDEX events_ts ON events USING brin (ts);
