-- What the canonical catalog learnt about recordings (topic pm.enrichment, from the enrichment service):
-- an ISRC, duration, release date or album with its source, shown beside the providers' own fields of
-- every library track that is one of the recording's provider tracks. The catalog names no user, so it
-- is kept once here, never copied into the per-user ``tracks`` rows: a recording in 100,000 libraries is
-- one event writing a row per provider track, not 100,000 track rows rewritten (and the providers'
-- fields are never touched). A track finds its enrichment when it is read, through its provider ids:
-- a primary-key lookup per id (storage/enrichment.py). docs/library.md explains the choices.

-- One row per recording: its enrichment as the newest event told it (each event is whole).
CREATE TABLE recording_enrichments (
    recording_id   uuid PRIMARY KEY,
    -- The event's: one not newer than this changes nothing (a replay, a reordered older one).
    enriched_at    timestamptz NOT NULL,
    musicbrainz_id uuid,
    -- The known fields only: {"isrc": {"value": "GBAAA9800006", "source": "musicbrainz"}, ...}.
    fields         jsonb NOT NULL
);

-- Which recording a provider track is: the newest event naming it wins (an operator's split moves a
-- track to another recording; whichever of the two recordings' events arrives first).
CREATE TABLE enriched_tracks (
    provider          text NOT NULL,
    provider_track_id text NOT NULL,
    recording_id      uuid NOT NULL REFERENCES recording_enrichments (recording_id),
    -- The enriched_at of the newest event that named it.
    named_at          timestamptz NOT NULL,
    PRIMARY KEY (provider, provider_track_id)
);
-- A recording's tracks (those its newer event no longer names lose its enrichment).
CREATE INDEX enriched_tracks_by_recording_idx ON enriched_tracks (recording_id);

-- The library's tracks of every user by provider id (``provider_ids @> '{"spotify": "…"}'``): which
-- playlists show an enrichment that changed, so that their ETags (and cached pages) change.
CREATE INDEX tracks_by_provider_ids_idx ON tracks USING gin (provider_ids jsonb_path_ops);
