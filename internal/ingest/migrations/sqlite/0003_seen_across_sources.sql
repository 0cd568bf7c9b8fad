-- A message id is one event whichever source sends it, as in Segment's dedupe (not scoped to a
-- source) and in the event log (unique message_id): a second source sending an id already seen
-- gets its call dropped like a retry, rather than accepted and then lost downstream.
CREATE TABLE seen_messages_new (
    message_id TEXT NOT NULL PRIMARY KEY,
    source_id  TEXT NOT NULL, -- the source that sent it first
    at         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO seen_messages_new (message_id, source_id, at) SELECT message_id, source_id, at FROM seen_messages ORDER BY at;
DROP TABLE seen_messages;
ALTER TABLE seen_messages_new RENAME TO seen_messages;
CREATE INDEX seen_messages_at ON seen_messages (at);
