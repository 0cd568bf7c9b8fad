-- Data-subject requests (export, erasure), the tombstones erasures leave, the hashes of erased
-- identifiers, and the community's privacy settings. Times are Unix milliseconds.

-- One row per request. Once its subject is erased, member_id and profile_id are '' and
-- tombstone_id is what stands for them; note is blanked too.
CREATE TABLE privacy_requests (
    id           TEXT   PRIMARY KEY,
    kind         TEXT   NOT NULL,            -- export, erasure
    status       TEXT   NOT NULL,            -- open, running, completed, declined
    member_id    TEXT   NOT NULL DEFAULT '', -- the subject's account, '' when none or erased
    profile_id   TEXT   NOT NULL DEFAULT '', -- the subject's customer profile, '' when none or erased
    tombstone_id TEXT   NOT NULL DEFAULT '', -- erasure: the opaque id that replaces the subject's
    regime       TEXT   NOT NULL,            -- gdpr, appi, ccpa
    channel      TEXT   NOT NULL,            -- privacy_centre, staff, api
    received_at  BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    completed_at BIGINT NULL,
    requested_by TEXT   NOT NULL,            -- member id, api_key:ID or system
    note         TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX privacy_requests_status ON privacy_requests (status, due_at);
CREATE INDEX privacy_requests_member ON privacy_requests (member_id);
CREATE INDEX privacy_requests_profile ON privacy_requests (profile_id);

-- What an erasure leaves: an opaque id and when. Nothing else about the person.
CREATE TABLE privacy_tombstones (
    id        TEXT   PRIMARY KEY,
    erased_at BIGINT NOT NULL
);

-- Hex SHA-256 of "user_id:<value>" and "anonymous_id:<value>" of erased people: the tracking
-- API drops events that still carry one, so a browser or a server that keeps sending them
-- cannot bring the person back.
CREATE TABLE privacy_erased_ids (
    hash       TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE privacy_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
