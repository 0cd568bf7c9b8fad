-- Images members upload. The bytes live in the media store (a directory or an S3 bucket) under
-- storage_key; this row is what Kizuna knows about them.
CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    storage_key  TEXT NOT NULL UNIQUE, -- <id>.<ext>
    content_type TEXT NOT NULL,        -- sniffed from the bytes: image/png, image/jpeg, image/gif, image/webp
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    filename     TEXT NOT NULL DEFAULT '', -- as the member named it, for alt text; never used as a path
    uploader_id  TEXT NOT NULL REFERENCES members (id),
    created_at   INTEGER NOT NULL
);
-- The upload flood limit counts a member's recent uploads.
CREATE INDEX media_uploader ON media (uploader_id, created_at);
