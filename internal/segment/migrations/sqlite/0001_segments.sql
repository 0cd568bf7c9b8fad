-- Segments: named definitions in the segment language (docs/segments.md) and who is in each.

CREATE TABLE segments (
    id            TEXT   PRIMARY KEY,
    name          TEXT   NOT NULL,
    definition    TEXT   NOT NULL, -- canonical JSON
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    recomputed_at BIGINT NOT NULL DEFAULT 0 -- the last full recomputation, Unix ms; claims the next one
);

-- The root profiles in each segment. Both evaluators keep it: the incremental one for the
-- profiles an event touches, the scheduled full recomputation for everyone.
CREATE TABLE segment_members (
    segment_id TEXT   NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    profile_id TEXT   NOT NULL,
    entered_at BIGINT NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_profile ON segment_members (profile_id);
