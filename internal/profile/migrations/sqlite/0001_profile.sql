-- Customer profiles as the data hub sees them: the events that landed on each, counters computed
-- from them, and traits with their source and history. Rows stay under the identity_profiles id
-- they were recorded for; reads gather a profile's whole family (identity.Graph.Family), so a merge
-- moves nothing and undoing it restores both sides as they were.

-- One row per event that resolved to a profile; message_id makes redelivery a no-op.
CREATE TABLE profile_events (
    message_id TEXT   PRIMARY KEY,
    profile_id TEXT   NOT NULL,
    type       TEXT   NOT NULL, -- identify, track, page, screen, group, alias
    name       TEXT   NOT NULL DEFAULT '', -- track: the event; page and screen: the name
    source     TEXT   NOT NULL,
    at         BIGINT NOT NULL, -- the event's corrected timestamp, Unix ms
    properties TEXT   NOT NULL DEFAULT '{}' -- JSON: properties, or traits for identify and group
) WITHOUT ROWID;
CREATE INDEX profile_events_profile ON profile_events (profile_id, at);

-- Counters per profile: key "all", "source:<source>", "event:<track event>" or "type:<type>" for the other calls.
CREATE TABLE profile_counts (
    profile_id TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    count      BIGINT NOT NULL,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (profile_id, key)
) WITHOUT ROWID;

-- The current value of each trait: the one with the latest timestamp wins.
CREATE TABLE profile_traits (
    profile_id TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL, -- JSON
    source     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile_id, name)
) WITHOUT ROWID;

-- Every change of a trait, for its history.
CREATE TABLE profile_trait_changes (
    id         INTEGER PRIMARY KEY,
    profile_id TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    source     TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    message_id TEXT   NOT NULL
);
CREATE INDEX profile_trait_changes_profile ON profile_trait_changes (profile_id, name, at);
