-- Issue 20: every track the system has seen resolves to one canonical recording (docs/catalog.md,
-- "Seen tracks"). Provider imports describe tracks; the clustering joins them into recordings, and the
-- join log says by which rule.

-- The tracks as their own provider last described them in an import: the clustering's input, and what
-- a recording's enrichment is made from. Shared like the rest of the catalog: no user, no playlist.
CREATE TABLE seen_tracks (
    provider          text        NOT NULL,
    provider_track_id text        NOT NULL,
    title             text        NOT NULL,
    artists           text[]      NOT NULL DEFAULT '{}',
    album             text,
    duration_ms       integer     CHECK (duration_ms BETWEEN 0 AND 86400000),
    isrc              text        CHECK (isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    explicit          boolean,
    release_date      date,
    -- The blocking keys the clustering looks candidates up by (domain/clustering.py): the folded titles
    -- the track is filed under, and its folded main artist (which splits a crowded title).
    title_keys        text[]      NOT NULL,
    artist_key        text        NOT NULL,
    -- domain/metadata.py's reading of the title and artists (NormalisedMetadata.to_json()).
    normalised        jsonb       NOT NULL,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    -- When the import that gave the description read it from the provider.
    described_at      timestamptz NOT NULL,
    PRIMARY KEY (provider, provider_track_id)
);
CREATE INDEX seen_tracks_by_isrc ON seen_tracks (isrc) WHERE isrc IS NOT NULL;
CREATE INDEX seen_tracks_by_title_key ON seen_tracks USING gin (title_keys);

-- The join log keeps the clustering's joins beside the transfers' matches: ``origin`` says which told
-- it, and ``method`` for an import is the clustering's rule (isrc: the same ISRC the matcher accepts;
-- metadata: the matcher accepts title, artists, version and duration).
ALTER TABLE catalog_joins
    ADD COLUMN origin text NOT NULL DEFAULT 'transfer' CHECK (origin IN ('transfer', 'import'));
ALTER TABLE catalog_joins DROP CONSTRAINT catalog_joins_method_check;
ALTER TABLE catalog_joins
    ADD CONSTRAINT catalog_joins_method_check CHECK (
        (origin = 'transfer' AND method IN ('isrc', 'search'))
        OR (origin = 'import' AND method IN ('isrc', 'metadata')));

-- A track seen alone (no other track is its recording yet) was brought by no join, nor were its ISRCs.
ALTER TABLE recording_provider_ids ALTER COLUMN join_id DROP NOT NULL;
ALTER TABLE recording_isrcs ALTER COLUMN join_id DROP NOT NULL;
