-- Sources Kizuna makes for itself, such as the community website's own tracker, with their write
-- key. A browser write key is public by nature (every page that loads kizuna.js carries it), so
-- keeping it here in the clear reveals nothing a visitor cannot read; sources.write_key_hash still
-- authenticates it, and the keys of other sources stay hash-only.
CREATE TABLE builtin_sources (
    name      TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources (id),
    write_key TEXT NOT NULL
);
