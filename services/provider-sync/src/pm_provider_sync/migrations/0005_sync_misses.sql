-- A track of one end (side a or b) that a sync run looked for on the other end and did not find: the
-- link's runs do not look for it again for a while (domain/sync.py's MISS_TTL), so an unchanged miss
-- costs no search on every run that reads the ends.
CREATE TABLE sync_misses (
    link_id   uuid        NOT NULL REFERENCES sync_links (id) ON DELETE CASCADE,
    user_id   uuid        NOT NULL,
    side      text        NOT NULL,
    track_id  text        NOT NULL,
    missed_at timestamptz NOT NULL,
    PRIMARY KEY (link_id, side, track_id)
);
CREATE INDEX sync_misses_user ON sync_misses (user_id);
