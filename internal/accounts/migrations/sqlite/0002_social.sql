-- Social log-in: the outside accounts linked to members, the ways to log in that the admin
-- configured, and log-ins in progress.

-- One row per linked outside account. The subject is the provider's id of the person, which is
-- scoped per provider key (LINE user ids differ per LINE provider, Facebook ids per app): the
-- same person logging in through two keys is two rows. A member links at most one account per key.
CREATE TABLE member_identities (
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    picture_url   TEXT NOT NULL DEFAULT '',
    linked_at     INTEGER NOT NULL,
    last_login_at INTEGER,
    PRIMARY KEY (provider, subject)
) STRICT;
CREATE UNIQUE INDEX member_identities_member ON member_identities (member_id, provider);

-- Providers configured in the admin. Providers set by KIZUNA_* settings keep their credentials
-- there; a row for one of them holds only whether it is switched on.
CREATE TABLE login_providers (
    key           TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    issuer        TEXT NOT NULL DEFAULT '',
    client_id     TEXT NOT NULL DEFAULT '',
    client_secret TEXT NOT NULL DEFAULT '',
    allow_signup  INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT NOT NULL
) STRICT;

-- Log-ins in progress: kind 'auth' waits for the provider's callback (keyed by the hash of the
-- state sent), kind 'pending' waits for the person's decision on the permission screen (keyed by
-- the hash of the browser's secret). browser_hash binds both to the browser's cookie.
CREATE TABLE social_flows (
    token_hash   TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    provider     TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX social_flows_expires ON social_flows (expires_at);
