-- The posts each member viewed, kept by the feed's consumer of Post Viewed (the latest view per
-- post): what they read is affinity with its space and tags.
CREATE TABLE feed_reads (
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE, -- erased with the member
    post_id   TEXT NOT NULL,
    space_id  TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (member_id, post_id)
);
CREATE INDEX feed_reads_recent ON feed_reads (member_id, at DESC);
