-- Community events (meetups, webinars) in a space, and who is coming to them.
CREATE TABLE meetup_events (
    id               TEXT PRIMARY KEY,
    space_id         TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '', -- Markdown as written
    description_html TEXT NOT NULL DEFAULT '', -- rendered and sanitised at write time
    online           INTEGER NOT NULL DEFAULT 0,
    url              TEXT NOT NULL DEFAULT '', -- where to join an online event
    place            TEXT NOT NULL DEFAULT '', -- where an offline event is
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    time_zone        TEXT NOT NULL, -- IANA name the event is shown in
    capacity         INTEGER NOT NULL DEFAULT 0, -- 0: unlimited
    going            INTEGER NOT NULL DEFAULT 0, -- counts kept with every RSVP change
    waitlisted       INTEGER NOT NULL DEFAULT 0,
    interested       INTEGER NOT NULL DEFAULT 0,
    survey_url       TEXT NOT NULL DEFAULT '',
    check_in_code    TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX meetup_events_starts ON meetup_events (starts_at, id);
CREATE INDEX meetup_events_space ON meetup_events (space_id, starts_at);

-- One row per member and event: the RSVP and the attendance. A walk-in who checks in without an
-- RSVP has status ''.
CREATE TABLE meetup_rsvps (
    event_id        TEXT NOT NULL REFERENCES meetup_events (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT '', -- going, waitlisted, interested, cancelled, ''
    status_at       INTEGER NOT NULL, -- when the status last changed: the waitlist's order
    checked_in_at   INTEGER,
    check_in_method TEXT NOT NULL DEFAULT '', -- code, staff
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX meetup_rsvps_status ON meetup_rsvps (event_id, status, status_at);
CREATE INDEX meetup_rsvps_member ON meetup_rsvps (member_id);
