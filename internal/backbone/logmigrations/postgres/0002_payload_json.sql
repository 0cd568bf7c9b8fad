-- The payload is stored as the JSON text it was on the stream: json checks it and keeps it as it
-- is, where jsonb parsed it into a binary form on every append. Nothing queries inside it on the
-- write path, and json still answers ->> when an analyst does.
ALTER TABLE events ALTER COLUMN payload TYPE JSON USING payload::json;
