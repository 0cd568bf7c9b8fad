-- Scores: models of points per event with caps, decay and thresholds (docs/scores.md), and the
-- score of each profile under each model. Rows stay under the profile an event landed on; reads
-- add up a profile's merge family.

CREATE TABLE score_models (
    id                TEXT   PRIMARY KEY,
    name              TEXT   NOT NULL,
    description       TEXT   NOT NULL DEFAULT '',
    rules             TEXT   NOT NULL, -- canonical JSON
    max_score         REAL,            -- the cap; NULL for none
    half_life         TEXT   NOT NULL DEFAULT '', -- ISO 8601; '' for no decay
    half_life_ms      BIGINT NOT NULL DEFAULT 0,  -- the same in ms, which the segment SQL reads
    thresholds        TEXT   NOT NULL DEFAULT '[]', -- JSON, lowest first
    created_by        TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- A full recomputation from the event log is pending while recompute_from is not NULL: the
    -- profile id its next chunk starts after ('' at the start), so that it resumes where it stopped.
    recompute_from    TEXT   DEFAULT '',
    checked_at        BIGINT NOT NULL DEFAULT 0 -- the last scheduled threshold pass, Unix ms; claims the next one
);

-- The score of a profile (the one events landed on, not its root) under a model: value as of
-- as_of (Unix ms); it decays from there on read.
CREATE TABLE score_values (
    model_id   TEXT   NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    profile_id TEXT   NOT NULL,
    value      REAL   NOT NULL,
    as_of      BIGINT NOT NULL,
    PRIMARY KEY (model_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX score_values_profile ON score_values (profile_id);

-- Points a capped rule awarded a profile in a window from window_start to window_end (Unix ms;
-- both 0 for a lifetime cap). Windows that ended long ago are dropped.
CREATE TABLE score_windows (
    model_id     TEXT   NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    profile_id   TEXT   NOT NULL,
    rule         INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    points       REAL   NOT NULL,
    PRIMARY KEY (model_id, profile_id, rule, window_start)
) WITHOUT ROWID;
CREATE INDEX score_windows_end ON score_windows (window_end);

-- The events each model has counted: an event delivered again is not counted twice. Rows are
-- dropped a while after the stream stops redelivering (applied_at, Unix ms, is when it was counted).
CREATE TABLE score_applied (
    model_id   TEXT   NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    message_id TEXT   NOT NULL,
    profile_id TEXT   NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (model_id, message_id)
) WITHOUT ROWID;
CREATE INDEX score_applied_profile ON score_applied (model_id, profile_id);
CREATE INDEX score_applied_at ON score_applied (applied_at);

-- The highest threshold each root profile was last announced at (its value), so that only a
-- change emits Score Threshold Crossed. No row: below every threshold.
CREATE TABLE score_levels (
    model_id   TEXT   NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    profile_id TEXT   NOT NULL,
    level      REAL   NOT NULL,
    PRIMARY KEY (model_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX score_levels_profile ON score_levels (profile_id);
