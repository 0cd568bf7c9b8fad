-- Counters are updated in place many times: room left on each page lets PostgreSQL write the new
-- row version beside the old one without touching the primary key (a HOT update).
ALTER TABLE profile_counts SET (fillfactor = 70);
