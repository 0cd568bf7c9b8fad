-- The onboarding survey: the questions staff ask every new member, in Japanese and English.
-- A question's key names the trait its answer becomes (onboarding_<key>).
CREATE TABLE onboarding_questions (
    id         TEXT PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL, -- single, multiple, text, scale
    prompt_ja  TEXT NOT NULL,
    prompt_en  TEXT NOT NULL,
    scale_min  BIGINT NOT NULL DEFAULT 0,
    scale_max  BIGINT NOT NULL DEFAULT 0,
    position   BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A choice of a single or multiple question. It may name an interest (a space by slug or a tag),
-- which the personalised feed ranks first and the "interests" trait lists, and the automatic
-- segment made for it.
CREATE TABLE onboarding_choices (
    id            TEXT PRIMARY KEY,
    question_id   TEXT NOT NULL REFERENCES onboarding_questions (id) ON DELETE CASCADE,
    value         TEXT NOT NULL, -- stable, in the trait
    label_ja      TEXT NOT NULL,
    label_en      TEXT NOT NULL,
    interest_kind TEXT NOT NULL DEFAULT '', -- '', space, tag
    interest_ref  TEXT NOT NULL DEFAULT '',
    segment_id    TEXT NOT NULL DEFAULT '',
    position      BIGINT NOT NULL,
    UNIQUE (question_id, value)
);

-- A member's answer to one question, replaced when they change it from their settings.
CREATE TABLE onboarding_answers (
    member_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL REFERENCES onboarding_questions (id) ON DELETE CASCADE,
    choices     TEXT NOT NULL DEFAULT '', -- choice values, comma-separated
    text        TEXT NOT NULL DEFAULT '',
    scale       BIGINT,
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, question_id)
);
