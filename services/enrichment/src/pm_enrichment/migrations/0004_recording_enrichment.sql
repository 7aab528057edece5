-- Issue 20: each recording's enrichment (docs/enrichment.md): its ISRC, duration, release date and
-- album, each with the service (or MusicBrainz) that gave it, made from the seen tracks of its provider
-- tracks and from MusicBrainz's answer for its ISRC. The worker (usecases/enrichment.py) finds the
-- recordings that are due through the two partial indexes below, so an idle catalog costs an index probe.

ALTER TABLE recordings
    -- The enrichment as it stands: {"isrc": {"value", "source"} | null, "duration_ms": ..., "release_date":
    -- ..., "album": ..., "musicbrainz_id": uuid | null, "tracks": [[provider, provider_track_id], ...]}
    -- (domain/enrichment.py, Enrichment.to_json). NULL: never enriched.
    ADD COLUMN enrichment      jsonb,
    -- The recording's updated_at this enrichment was computed from. The recording is due again when it
    -- differs: compared for equality with the value read, never with a clock, so a writer whose
    -- transaction started before the enrichment's (its now() earlier) still makes it due.
    ADD COLUMN enriched_from   timestamptz,
    -- When the enrichment last changed (and track.enriched said so): the event's enriched_at.
    ADD COLUMN enriched_at     timestamptz,
    -- MusicBrainz: the ISRC to look up (the enrichment's ISRC, set by the fill), the ISRC last looked up
    -- and what MusicBrainz answered for it (its recordings, as domain/enrichment.py's MbCandidate.to_json:
    -- [] when it knew none), and the recording chosen among them.
    ADD COLUMN mb_wanted_isrc  text CHECK (mb_wanted_isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    ADD COLUMN mb_isrc         text CHECK (mb_isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    ADD COLUMN mb_answer       jsonb,
    ADD COLUMN musicbrainz_id  uuid,
    -- A lookup due is taken (claimed) by one worker until mb_next_at (a lease): several replicas share the
    -- lookups, a worker that died leaves its claim to expire. After a failed lookup (MusicBrainz
    -- unavailable) it is the backoff's end, mb_attempts the failures in a row.
    ADD COLUMN mb_next_at      timestamptz,
    ADD COLUMN mb_attempts     integer NOT NULL DEFAULT 0 CHECK (mb_attempts >= 0);

-- Recordings due for the fill: never enriched, or changed (tracks, ISRCs) since. A merged recording holds
-- nothing and is never due. The worker's query repeats this predicate exactly, so the planner uses it.
CREATE INDEX recordings_enrichment_due ON recordings (updated_at)
    WHERE merged_into IS NULL AND enriched_from IS DISTINCT FROM updated_at;

-- Recordings due for a MusicBrainz lookup: an ISRC not looked up yet (claimed or backing off until
-- mb_next_at).
CREATE INDEX recordings_musicbrainz_due ON recordings (mb_next_at NULLS FIRST, id)
    WHERE merged_into IS NULL AND mb_wanted_isrc IS NOT NULL AND mb_wanted_isrc IS DISTINCT FROM mb_isrc;
