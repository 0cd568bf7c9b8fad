-- Message ids accepted in the last 48 h, for dedupe. With a single database, as on PostgreSQL,
-- the ingest part's own migrations already made this table; this keeps the part's shape whole.
CREATE TABLE IF NOT EXISTS seen_messages (
    message_id TEXT NOT NULL PRIMARY KEY,
    source_id  TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_messages_at ON seen_messages (at);
