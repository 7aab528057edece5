-- The unified library: playlists, their entries (the current version, a row per position), the tracks
-- they name, and each playlist's history (versions as compressed edits, snapshots every so often).
-- docs/library.md explains the choices.

CREATE TABLE playlists (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL,
    -- 'liked': a provider's liked songs (Spotify Liked Songs, Deezer Loved Tracks, …), shown like a playlist.
    collection         text NOT NULL DEFAULT 'playlist' CHECK (collection IN ('playlist', 'liked')),
    name               text NOT NULL,
    description        text,
    public             boolean,
    collaborative      boolean,
    cover_url          text,
    -- Where it came from; all NULL for a playlist created in the library.
    origin_provider    text,
    origin_playlist_id text,
    origin_owner_id    text,
    origin_owner_name  text,
    change_marker      text,
    -- When the provider was read for the version applied last: an older read arriving later is ignored.
    imported_at        timestamptz,
    read_only          boolean NOT NULL DEFAULT false,   -- followed on the provider, not owned
    gone_from_provider boolean NOT NULL DEFAULT false,   -- the provider no longer lists it (kept)
    version            integer NOT NULL DEFAULT 1,
    -- Bumped when the metadata of a track it holds changes (another import): part of the ETag, not a version.
    track_revision     integer NOT NULL DEFAULT 0,
    entry_count        integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((origin_provider IS NULL) = (origin_playlist_id IS NULL))
);
-- One library playlist per provider playlist and user; the import finds it by this.
CREATE UNIQUE INDEX playlists_origin_idx ON playlists (user_id, origin_provider, origin_playlist_id)
    WHERE origin_provider IS NOT NULL;
-- The list's sort orders, each a keyset (sort key, id) within the user's playlists.
CREATE INDEX playlists_by_name_idx ON playlists (user_id, lower(name), id);
CREATE INDEX playlists_by_created_idx ON playlists (user_id, created_at, id);
CREATE INDEX playlists_by_updated_idx ON playlists (user_id, updated_at, id);

-- One row per recording and user: the same provider track in many playlists is one row. ``identity`` is
-- "<provider>:<id>" for a provider's track, "local:<digest of the metadata>" for one without an id.
CREATE TABLE tracks (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    identity     text NOT NULL,
    title        text NOT NULL,
    artists      text[] NOT NULL DEFAULT '{}',
    album        text,
    duration_ms  integer,
    isrc         text,
    explicit     boolean,
    release_date date,
    provider_ids jsonb NOT NULL DEFAULT '{}',
    media_type   text NOT NULL DEFAULT 'track',
    is_local     boolean NOT NULL DEFAULT false,
    available    boolean,
    UNIQUE (user_id, identity)
);

-- The current entries, in the order of ``sort_key``: spaced keys (domain/sort_keys.py), so that a move
-- or an insert writes only the rows it places, never the entries after them. An entry's position is its
-- rank; a page is one range of the primary key (OFFSET over the index). The key is checked at commit, so
-- an edit can place rows in any order.
CREATE TABLE entries (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    sort_key    bigint NOT NULL,
    id          uuid NOT NULL,
    track_id    uuid NOT NULL REFERENCES tracks (id),
    added_at    timestamptz NOT NULL,
    added_by    text,
    CONSTRAINT entries_pkey PRIMARY KEY (playlist_id, sort_key) DEFERRABLE INITIALLY DEFERRED
);
-- Which playlists hold a track (a track's metadata changed: their ETags change).
CREATE INDEX entries_by_track_idx ON entries (track_id);

-- Every version: who made it, when, what kind of change, and the edit (zlib-compressed JSON,
-- domain/entries.py's record; NULL for a change of details only).
CREATE TABLE playlist_versions (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    kind        text NOT NULL,
    author      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    edit        bytea,
    details     jsonb,
    added       integer NOT NULL DEFAULT 0,
    removed     integer NOT NULL DEFAULT 0,
    moved       integer NOT NULL DEFAULT 0,
    entry_count integer NOT NULL,
    -- The entries the edit names and the passes over the list replaying it takes (domain/history.py
    -- decides from them when a snapshot is due).
    edit_size   integer NOT NULL DEFAULT 0,
    edit_steps  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (playlist_id, version)
);

-- A version's whole list, kept every so often (domain/history.py): zlib-compressed JSON entry records.
CREATE TABLE playlist_snapshots (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    entries     bytea NOT NULL,
    PRIMARY KEY (playlist_id, version)
);

-- Parts of a provider playlist an import sends, held until its last part arrives.
CREATE TABLE import_parts (
    user_id            uuid NOT NULL,
    job_id             uuid NOT NULL,
    provider           text NOT NULL,
    provider_playlist_id text NOT NULL,
    part               integer NOT NULL,
    parts              integer NOT NULL,
    entries            bytea NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider, provider_playlist_id, job_id, part)
);
