-- Member profiles: the public face of an account in the community.
CREATE TABLE profiles (
    member_id  TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    handle     TEXT NOT NULL UNIQUE, -- lower-case, for @mentions and profile URLs
    bio        TEXT NOT NULL DEFAULT '',
    bio_html   TEXT NOT NULL DEFAULT '',
    points     BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE spaces (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL, -- public, members, private
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE space_categories (
    id       TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    position BIGINT NOT NULL,
    UNIQUE (space_id, name)
);

-- Who follows a space (and, for private spaces, who may see it) and in which role.
CREATE TABLE space_members (
    space_id  TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    role      TEXT NOT NULL, -- moderator, member
    muted     BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, member_id)
);
CREATE INDEX space_members_member ON space_members (member_id);

CREATE TABLE posts (
    id                  TEXT PRIMARY KEY,
    space_id            TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    author_id           TEXT NOT NULL REFERENCES members (id),
    kind                TEXT NOT NULL, -- discussion, question, idea
    title               TEXT NOT NULL,
    body                TEXT NOT NULL, -- Markdown as written
    body_html           TEXT NOT NULL, -- rendered and sanitised at write time, so reads never render
    category_id         TEXT,
    status              TEXT NOT NULL DEFAULT '', -- ideas: new, under_review, planned, in_progress, released, declined
    staff_response      TEXT NOT NULL DEFAULT '',
    accepted_comment_id TEXT,
    merged_into         TEXT,
    pinned              BIGINT NOT NULL DEFAULT 0,
    locked              BIGINT NOT NULL DEFAULT 0,
    hidden              BIGINT NOT NULL DEFAULT 0,
    comment_count       BIGINT NOT NULL DEFAULT 0,
    reaction_count      BIGINT NOT NULL DEFAULT 0,
    vote_count          BIGINT NOT NULL DEFAULT 0,
    version             BIGINT NOT NULL DEFAULT 0, -- changes with every change to the post or its replies; page caches compare it
    first_response_at   BIGINT,
    solved_at           BIGINT,
    last_activity_at    BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
-- The topic list: pinned first, then by latest activity. Hidden posts are few, so readers filter
-- them while walking the index and moderators (who see them) use the same order.
CREATE INDEX posts_topic_list ON posts (space_id, pinned DESC, last_activity_at DESC, id DESC);
CREATE INDEX posts_kind ON posts (kind, hidden, last_activity_at DESC);
CREATE INDEX posts_author ON posts (author_id);

CREATE TABLE post_tags (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_tag ON post_tags (tag);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL REFERENCES members (id),
    body       TEXT NOT NULL,
    body_html  TEXT NOT NULL,
    hidden     BIGINT NOT NULL DEFAULT 0,
    reaction_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX comments_thread ON comments (post_id, id);
CREATE INDEX comments_author ON comments (author_id);

-- Every edit keeps the text it replaced.
CREATE TABLE revisions (
    id          TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL, -- post, comment
    target_id   TEXT NOT NULL,
    editor_id   TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX revisions_target ON revisions (target_kind, target_id, id);

CREATE TABLE reactions (
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    emoji       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (target_kind, target_id, member_id, emoji)
);

CREATE TABLE idea_votes (
    post_id   TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    PRIMARY KEY (post_id, member_id)
);
CREATE INDEX idea_votes_member ON idea_votes (member_id);
