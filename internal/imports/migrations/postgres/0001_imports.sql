-- Import runs: one row per file imported, with how far it got. applied_rows/applied_line are
-- written in the same transaction as each chunk of rows, so after a crash they say exactly which
-- lines of the file went in. Times are Unix milliseconds.
CREATE TABLE imports (
    id           TEXT   PRIMARY KEY,
    kind         TEXT   NOT NULL, -- contacts, accounts, purchases, contracts, tickets
    file_name    TEXT   NOT NULL DEFAULT '',
    format       TEXT   NOT NULL, -- csv, jsonl
    status       TEXT   NOT NULL, -- validating, failed, running, done, interrupted
    total_rows   BIGINT NOT NULL DEFAULT 0,
    applied_rows BIGINT NOT NULL DEFAULT 0,
    applied_line BIGINT NOT NULL DEFAULT 0, -- every data row up to this file line is in
    changed_rows BIGINT NOT NULL DEFAULT 0, -- applied rows that changed something
    error_count  BIGINT NOT NULL DEFAULT 0,
    errors       TEXT   NOT NULL DEFAULT '[]', -- JSON [{line, field, message}], at most 1000
    message      TEXT   NOT NULL DEFAULT '',
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL, -- also a heartbeat while validating and running
    finished_at  BIGINT NULL
);
CREATE INDEX imports_status ON imports (status, updated_at);

-- The digest of what a contact import last said about a profile, so that importing the same
-- row again emits no new identify event.
CREATE TABLE import_contacts (
    profile_id TEXT PRIMARY KEY,
    digest     TEXT NOT NULL
);
