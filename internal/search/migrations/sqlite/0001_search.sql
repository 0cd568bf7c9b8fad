-- One row per searchable thing. folded is lower-cased title and body (folded in Go, so both engines
-- fold alike); the trigram FTS table indexes it and accelerates substring terms of 3+ characters.
CREATE TABLE search_docs (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    space_id  TEXT NOT NULL,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,
    url       TEXT NOT NULL,
    author_id TEXT NOT NULL,
    at        INTEGER NOT NULL,
    folded    TEXT NOT NULL,
    UNIQUE (kind, id)
) STRICT;
CREATE INDEX search_docs_at ON search_docs (at, id, kind);

CREATE VIRTUAL TABLE search_fts USING fts5 (
    folded, content = 'search_docs', content_rowid = 'seq', tokenize = 'trigram', detail = 'full'
);

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, folded) VALUES (new.seq, new.folded);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, folded) VALUES ('delete', old.seq, old.folded);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, folded) VALUES ('delete', old.seq, old.folded);
    INSERT INTO search_fts (rowid, folded) VALUES (new.seq, new.folded);
END;
