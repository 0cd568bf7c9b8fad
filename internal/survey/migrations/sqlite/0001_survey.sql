-- Surveys and polls. A poll is a survey of one question attached to a post. A survey's questions
-- are fixed when it is made and always read whole, so they are one JSON document; answers are rows,
-- so results are counted by the database.
CREATE TABLE surveys (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    post_id     TEXT UNIQUE REFERENCES posts (id) ON DELETE CASCADE, -- set for a poll: one per post
    space_id    TEXT REFERENCES spaces (id) ON DELETE CASCADE,       -- NULL: community-wide, members only
    anonymous   INTEGER NOT NULL DEFAULT 0,
    questions   TEXT NOT NULL, -- JSON: [{id, kind, prompt, options: [{id, label}], required, scale_min, scale_max}]
    closes_at   INTEGER,
    responses   INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL, -- member id, api_key:ID or system
    created_at  INTEGER NOT NULL
);
CREATE INDEX surveys_space ON surveys (space_id);

-- Who responded, one row per member and survey. Kept apart from what they answered, with no time,
-- so the answers of an anonymous survey cannot be joined back to a member.
CREATE TABLE survey_respondents (
    survey_id TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (survey_id, member_id)
);
CREATE INDEX survey_respondents_member ON survey_respondents (member_id);

-- One response; member_id is NULL for anonymous surveys.
CREATE TABLE survey_responses (
    id         TEXT PRIMARY KEY,
    survey_id  TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    member_id  TEXT REFERENCES members (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX survey_responses_survey ON survey_responses (survey_id, id);

-- One row per chosen option, per text answer and per scale answer.
CREATE TABLE survey_answers (
    response_id TEXT NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
    survey_id   TEXT NOT NULL,
    question_id TEXT NOT NULL,
    option_id   TEXT NOT NULL DEFAULT '',
    scale       INTEGER,
    text        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX survey_answers_survey ON survey_answers (survey_id, question_id);
