-- CRM-side records: accounts (companies), purchases, contracts and support tickets, keyed by the
-- CRM's own external id. Times are Unix milliseconds; contract dates are YYYY-MM-DD.

CREATE TABLE crm_accounts (
    id          TEXT   PRIMARY KEY,
    external_id TEXT   NOT NULL UNIQUE,
    name        TEXT   NOT NULL,
    domain      TEXT   NOT NULL DEFAULT '',
    industry    TEXT   NOT NULL DEFAULT '',
    plan        TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE crm_purchases (
    id           TEXT   PRIMARY KEY,
    external_id  TEXT   NOT NULL UNIQUE,
    profile_id   TEXT   NOT NULL, -- identity_profiles.id the customer resolved to
    account_id   TEXT   NULL REFERENCES crm_accounts (id),
    amount_minor BIGINT NOT NULL,
    currency     TEXT   NOT NULL, -- ISO 4217
    purchased_at BIGINT NOT NULL,
    product      TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX crm_purchases_profile ON crm_purchases (profile_id, purchased_at);

CREATE TABLE crm_contracts (
    id           TEXT   PRIMARY KEY,
    external_id  TEXT   NOT NULL UNIQUE,
    account_id   TEXT   NOT NULL REFERENCES crm_accounts (id),
    plan         TEXT   NOT NULL DEFAULT '',
    status       TEXT   NOT NULL, -- active, cancelled, expired
    starts_on    TEXT   NOT NULL, -- YYYY-MM-DD
    renews_on    TEXT   NULL,     -- YYYY-MM-DD
    amount_minor BIGINT NOT NULL,
    currency     TEXT   NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX crm_contracts_account ON crm_contracts (account_id);

CREATE TABLE crm_tickets (
    id          TEXT   PRIMARY KEY,
    external_id TEXT   NOT NULL UNIQUE,
    profile_id  TEXT   NOT NULL,
    account_id  TEXT   NULL REFERENCES crm_accounts (id),
    subject     TEXT   NOT NULL,
    status      TEXT   NOT NULL, -- open, pending, solved, closed
    priority    TEXT   NOT NULL, -- low, normal, high, urgent
    opened_at   BIGINT NOT NULL,
    solved_at   BIGINT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX crm_tickets_profile ON crm_tickets (profile_id, opened_at);

-- A profile belongs to at most one account.
CREATE TABLE profile_accounts (
    profile_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES crm_accounts (id)
);
CREATE INDEX profile_accounts_account ON profile_accounts (account_id);
