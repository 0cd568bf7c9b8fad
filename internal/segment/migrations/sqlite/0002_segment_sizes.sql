-- The size of each segment over time, for its chart. A full recomputation (and creating a
-- segment) writes the count into the row of its hour, so a segment keeps at most one point an
-- hour; points older than 400 days are pruned as new ones are written.

CREATE TABLE segment_sizes (
    segment_id TEXT   NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL, -- the start of the hour, Unix ms
    count      BIGINT NOT NULL,
    PRIMARY KEY (segment_id, at)
) WITHOUT ROWID;
