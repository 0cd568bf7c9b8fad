-- The consent ledger, the suppression list and the records of third-party provision.
-- Times are Unix milliseconds.

-- Append-only: the consent part never updates or deletes a record. The current status of a
-- profile × channel × purpose is its record with the latest recorded_at across the merge family.
CREATE TABLE consent_records (
    id           TEXT   PRIMARY KEY, -- ULID: later-stored records sort later
    profile_id   TEXT   NOT NULL,    -- identity_profiles.id it was recorded for
    channel      TEXT   NOT NULL,    -- email, line, web_push, sms, phone, in_app
    purpose      TEXT   NOT NULL,    -- marketing, product_news, research, service, third_party:<destination>
    status       TEXT   NOT NULL,    -- opted_in, opted_out, unknown
    recorded_at  BIGINT NOT NULL,    -- when the person gave or withdrew it
    source       TEXT   NOT NULL,    -- signup_form, privacy_centre, import, api, line_follow, …
    text_version TEXT   NOT NULL DEFAULT '',
    ip           TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT '',
    recorded_by  TEXT   NOT NULL,    -- member id, api_key:ID or system
    import_id    TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);
-- The same statement twice (a retried request, an import run again) is stored once; the index
-- also finds the latest record of a channel and purpose.
CREATE UNIQUE INDEX consent_records_key ON consent_records (profile_id, channel, purpose, recorded_at, status, source);

-- One row per channel, address and reason. value_hash is the hex SHA-256 of "channel:address";
-- value is the address in clear, '' once the person was erased.
CREATE TABLE consent_suppressions (
    id         TEXT   PRIMARY KEY,
    channel    TEXT   NOT NULL,
    value_hash TEXT   NOT NULL,
    value      TEXT   NOT NULL DEFAULT '',
    reason     TEXT   NOT NULL, -- hard_bounce, complaint, erased, manual
    note       TEXT   NOT NULL DEFAULT '',
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX consent_suppressions_key ON consent_suppressions (channel, value_hash, reason);

-- APPI Art. 29: each provision of a person's data to a third party.
CREATE TABLE consent_provisions (
    id          TEXT   PRIMARY KEY,
    profile_id  TEXT   NOT NULL,
    recipient   TEXT   NOT NULL,
    items       TEXT   NOT NULL, -- JSON array of the data items provided
    basis       TEXT   NOT NULL, -- consent, entrustment, joint_use, succession, law, opt_out
    provided_at BIGINT NOT NULL,
    recorded_by TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX consent_provisions_profile ON consent_provisions (profile_id, provided_at);
