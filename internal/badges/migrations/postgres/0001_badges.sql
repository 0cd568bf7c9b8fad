-- Badges members earn by rules (reputation) or receive from staff.
CREATE TABLE badges (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL, -- rule (rules award it; staff may too), manual (staff only)
    rule        TEXT NOT NULL DEFAULT '', -- e.g. points>=50; see badges.ParseRule
    created_at  BIGINT NOT NULL
);

-- One row per badge, member and space ('' for community-wide), so awarding is idempotent. A
-- revoked award keeps its row (revoked_at set), so rules do not hand it back; awarding it by
-- hand again clears revoked_at.
CREATE TABLE badge_awards (
    badge_id   TEXT NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    space_id   TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    awarded_at BIGINT NOT NULL,
    awarded_by TEXT NOT NULL, -- a member id, system (rules) or api_key:ID
    revoked_at BIGINT,
    revoked_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (badge_id, member_id, space_id)
);
CREATE INDEX badge_awards_member ON badge_awards (member_id);
CREATE INDEX badge_awards_space ON badge_awards (badge_id, space_id);

-- The built-in badges. Fixed ids, so that every installation names them alike.
INSERT INTO badges (id, slug, name, description, kind, rule, created_at) VALUES
    ('00000000000000000000BADGE1', 'staff', 'Staff', 'Works on the community team.', 'manual', '', (extract(epoch FROM now()) * 1000)::bigint),
    ('00000000000000000000BADGE2', 'early-adopter', 'Early adopter', 'Among the first 100 members to sign up.', 'rule', 'signup_rank<=100', (extract(epoch FROM now()) * 1000)::bigint),
    ('00000000000000000000BADGE3', 'expert', 'Expert', 'Five or more accepted answers in a space, or named by the community team.', 'rule', 'space_accepted_answers>=5', (extract(epoch FROM now()) * 1000)::bigint),
    ('00000000000000000000BADGE4', 'helpful', 'Helpful', 'Earned 50 points from answers and reactions.', 'rule', 'points>=50', (extract(epoch FROM now()) * 1000)::bigint);
