-- The catalog's misses (docs/catalog.md, "Misses"): source tracks a transfer looked for on a target
-- provider (its ISRC lookup and a search scored by the matcher) without finding anything a user could
-- pick. The lookup answers "known absent" for a miss younger than CATALOG_MISS_TTL_DAYS, so the next
-- transfer of the track to that provider looks for nothing. Shared by every user: no user id, nothing a
-- user chose. A match of the source track to that provider (track.matched) deletes the miss.
CREATE TABLE catalog_misses (
    source_provider text        NOT NULL,
    source_track_id text        NOT NULL,
    target_provider text        NOT NULL,
    -- The source track as the transfer described it (normalised as a recording's description), to
    -- explain the miss.
    source_isrc     text        CHECK (source_isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    title           text        NOT NULL,
    artists         text[]      NOT NULL DEFAULT '{}',
    duration_ms     integer     CHECK (duration_ms >= 0),
    -- The latest search that found nothing (never later than when it was recorded) and its job: a
    -- miss told again only moves this forward.
    searched_at     timestamptz NOT NULL,
    job_id          uuid        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (source_provider <> target_provider),
    -- The lookup's third step: an index scan per key.
    PRIMARY KEY (source_provider, source_track_id, target_provider)
);
