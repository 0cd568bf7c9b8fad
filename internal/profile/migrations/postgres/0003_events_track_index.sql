-- Segments count track events by name within a time window (docs/segments.md): this index finds
-- them without reading the whole event log, and holds profile_id so that a count without property
-- filters reads nothing else. Page views and the other calls, most of the log, are left out.
CREATE INDEX profile_events_track ON profile_events (name, at) INCLUDE (profile_id) WHERE type = 'track';
