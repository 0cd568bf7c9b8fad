-- Sources of the Segment-compatible tracking API and their write keys (only a hash is kept).
CREATE TABLE sources (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    write_key_hash TEXT NOT NULL UNIQUE,
    key_prefix     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
) STRICT;

-- Message ids accepted from each source, kept 48 h so a retried call is stored once.
CREATE TABLE seen_messages (
    source_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (source_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX seen_messages_at ON seen_messages (at);
