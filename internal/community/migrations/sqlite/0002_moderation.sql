-- Reports of content or members, and the moderation queue they make.
CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL, -- post, comment, member
    target_id   TEXT NOT NULL,
    space_id    TEXT NOT NULL DEFAULT '', -- '' for members: only community-wide moderators see those
    reporter_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL, -- spam, abuse, off_topic, other
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open', -- open, resolved, dismissed
    resolved_by TEXT NOT NULL DEFAULT '',
    resolution  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
-- One open report per reporter and target.
CREATE UNIQUE INDEX reports_once ON reports (target_kind, target_id, reporter_id) WHERE status = 'open';
CREATE INDEX reports_queue ON reports (status, id);

-- Community-wide settings that moderators and managers change at run time.
CREATE TABLE community_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A post awaiting approval is hidden (only its author and moderators see it) and pending.
ALTER TABLE posts ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX posts_pending ON posts (pending, id) WHERE pending = 1;
