-- The identity graph. The tables carry an identity_ prefix because the community part already
-- owns a "profiles" table (member profiles) in the same database.

-- A customer profile. merged_into is set while the profile has been merged into another.
CREATE TABLE identity_profiles (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    merged_into TEXT NULL
);

-- Every identifier maps to exactly one profile.
CREATE TABLE identity_identifiers (
    type       TEXT   NOT NULL, -- normalised type, e.g. email, user_id, crm:salesforce
    value      TEXT   NOT NULL, -- normalised value
    profile_id TEXT   NOT NULL REFERENCES identity_profiles (id),
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (type, value)
);
CREATE INDEX identity_identifiers_profile ON identity_identifiers (profile_id);

-- One row per merge, with what moved so that it can be undone.
CREATE TABLE identity_merges (
    id          TEXT   PRIMARY KEY,
    winner_id   TEXT   NOT NULL REFERENCES identity_profiles (id),
    loser_id    TEXT   NOT NULL REFERENCES identity_profiles (id),
    reason      TEXT   NOT NULL,
    rule        TEXT   NOT NULL,
    identifiers TEXT   NOT NULL, -- JSON array of {"type","value"} that moved from loser to winner
    at          BIGINT NOT NULL,
    undone_at   BIGINT NULL
);
CREATE INDEX identity_merges_winner ON identity_merges (winner_id);
CREATE INDEX identity_merges_loser ON identity_merges (loser_id);
