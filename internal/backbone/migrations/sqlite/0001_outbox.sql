-- Events committed with a domain change, waiting for the relay to put them on the stream.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT    NOT NULL,
    payload    TEXT    NOT NULL, -- the event as JSON
    created_at BIGINT  NOT NULL
);

-- Which events each consumer has already applied, for consumers that need exactly-once effects.
-- Rows older than the redelivery horizon are pruned.
CREATE TABLE consumer_seen (
    consumer   TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (consumer, message_id)
) WITHOUT ROWID;
CREATE INDEX consumer_seen_at ON consumer_seen (seen_at);

-- Short leases so that only one node at a time runs a singleton job such as the relay.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
