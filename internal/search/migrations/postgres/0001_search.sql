-- pg_trgm lives in public: tests (and some deployments) run each schema with a search_path that
-- does not include public, so the operator class is named with its schema.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- One row per searchable thing. folded is lower-cased title and body (folded in Go, so both engines
-- fold alike whatever the database's lc_ctype); the trigram index accelerates LIKE '%term%'.
CREATE TABLE search_docs (
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    space_id  TEXT NOT NULL,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,
    url       TEXT NOT NULL,
    author_id TEXT NOT NULL,
    at        BIGINT NOT NULL,
    folded    TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX search_docs_at ON search_docs (at, id, kind);
CREATE INDEX search_docs_folded ON search_docs USING gin (folded public.gin_trgm_ops);
