-- The personalised home feed. Posts staff pin to the top of everyone's feed.
CREATE TABLE feed_pins (
    post_id   TEXT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    pinned_by TEXT NOT NULL,
    pinned_at INTEGER NOT NULL
);

-- The feed's candidates: the latest activity community-wide and per space, the latest posts of a
-- tag (post ids grow with time), and a member's recent reactions (their affinity to spaces and
-- tags).
CREATE INDEX posts_recent ON posts (last_activity_at DESC) WHERE hidden = 0;
CREATE INDEX posts_space_recent ON posts (space_id, last_activity_at DESC) WHERE hidden = 0;
CREATE INDEX post_tags_recent ON post_tags (tag, post_id DESC);
CREATE INDEX reactions_member ON reactions (member_id, at DESC);
