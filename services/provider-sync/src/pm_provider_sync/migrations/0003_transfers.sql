-- Transfers (services/provider-sync, usecases/transfers.py): per job, its source playlists, every source
-- track with what the matcher decided, and the target playlists (parts) it writes. A job resumes from
-- these rows: matched tracks are never matched again, a part whose target playlist exists is never
-- created again, and what a part has written is read back from the target before writing more.
CREATE TABLE transfer_playlists (
    job_id             uuid    NOT NULL,
    playlist_index     integer NOT NULL,
    user_id            uuid    NOT NULL,
    source_playlist_id uuid    NOT NULL,
    name               text    NOT NULL,
    entries            integer NOT NULL,
    PRIMARY KEY (job_id, playlist_index)
);
CREATE INDEX transfer_playlists_user ON transfer_playlists (user_id);

CREATE TABLE transfer_tracks (
    job_id         uuid    NOT NULL,
    playlist_index integer NOT NULL,
    position       integer NOT NULL,
    user_id        uuid    NOT NULL,
    -- The source track as the library holds it (title, artists, album, duration_ms, isrc, explicit,
    -- provider_ids), and the key a user's own choice for it is kept under.
    source         jsonb   NOT NULL,
    source_key     text    NOT NULL,
    -- pending | matched | review | not_matched | unavailable | skipped
    status         text    NOT NULL DEFAULT 'pending',
    target_id      text,
    method         text,
    confidence     real,
    breakdown      jsonb,
    reason         text,
    candidates     jsonb,
    PRIMARY KEY (job_id, playlist_index, position)
);
CREATE INDEX transfer_tracks_user ON transfer_tracks (user_id);
CREATE INDEX transfer_tracks_pending ON transfer_tracks (job_id, playlist_index, position)
    WHERE status = 'pending';

-- One target playlist: a source playlist longer than the target allows is written in numbered parts.
CREATE TABLE transfer_parts (
    job_id             uuid    NOT NULL,
    playlist_index     integer NOT NULL,
    part               integer NOT NULL,
    user_id            uuid    NOT NULL,
    name               text    NOT NULL,
    -- The tracks of this part: target ids in order.
    track_ids          jsonb   NOT NULL,
    -- Set just before the target playlist is created: a job stopped between the provider's answer and
    -- recording its id finds the playlist again by the reference in its description.
    creating           boolean NOT NULL DEFAULT false,
    target_playlist_id text,
    -- Entries the target held before this part wrote (append mode): they stay first, untouched.
    base_count         integer NOT NULL DEFAULT 0,
    written            integer NOT NULL DEFAULT 0,
    verified           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, playlist_index, part)
);
CREATE INDEX transfer_parts_user ON transfer_parts (user_id);

-- A user's own choices: this source track is that target track (target_id NULL: never match it). They
-- win over every automatic match, for every later transfer and sync of that track, and stay theirs.
CREATE TABLE track_mappings (
    user_id         uuid        NOT NULL,
    source_key      text        NOT NULL,
    target_provider text        NOT NULL,
    target_id       text,
    chosen_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, source_key, target_provider)
);
