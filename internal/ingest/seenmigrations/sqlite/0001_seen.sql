-- Message ids accepted in the last 48 h, for dedupe: on SQLite in a file of their own (seen.db),
-- so acknowledging a tracking call never waits for the main database's one writer. With a single
-- database (PostgreSQL) the ingest part's own migrations already made this table.
CREATE TABLE IF NOT EXISTS seen_messages (
    message_id TEXT NOT NULL PRIMARY KEY,
    source_id  TEXT NOT NULL, -- the source that sent it first
    at         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_messages_at ON seen_messages (at);
