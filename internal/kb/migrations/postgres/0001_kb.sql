-- The knowledge base: staff-written articles in categories, some of them grown from answers in
-- the community. Articles sit outside spaces: once published, everyone may read them.
CREATE TABLE kb_categories (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL, -- the order readers see; new categories go last
    created_at BIGINT NOT NULL
);

CREATE TABLE kb_articles (
    id                TEXT PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    category_id       TEXT REFERENCES kb_categories (id),
    title             TEXT NOT NULL,
    body              TEXT NOT NULL, -- Markdown as written
    body_html         TEXT NOT NULL, -- rendered and sanitised at write time, so reads never render
    published         BIGINT NOT NULL DEFAULT 0,
    published_at      BIGINT, -- first publication: "Article Published" is sent once
    views             BIGINT NOT NULL DEFAULT 0,
    -- The question and answer the article was made from, if any. Deleting them keeps the article.
    source_post_id    TEXT REFERENCES posts (id) ON DELETE SET NULL,
    source_comment_id TEXT REFERENCES comments (id) ON DELETE SET NULL,
    author_id         TEXT NOT NULL, -- a member id, or system / api_key:ID
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX kb_articles_category ON kb_articles (category_id, published, id);
CREATE INDEX kb_articles_published ON kb_articles (published, id);
CREATE INDEX kb_articles_source_post ON kb_articles (source_post_id);
