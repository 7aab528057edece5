-- Sync (services/provider-sync, usecases/sync.py): links that keep two playlists the same, the pairs of
-- tracks a link knows to be one song on both ends, and every run with what it changed (for its undo).
CREATE TABLE sync_links (
    id                uuid        PRIMARY KEY,
    user_id           uuid        NOT NULL,
    a_provider        text        NOT NULL,
    a_playlist_id     text        NOT NULL,
    b_provider        text        NOT NULL,
    b_playlist_id     text        NOT NULL,
    -- add_only | mirror (a → b) | two_way
    direction         text        NOT NULL,
    -- NULL: run by hand only.
    every_minutes     integer,
    max_removal_share real        NOT NULL DEFAULT 0.2,
    paused            boolean     NOT NULL DEFAULT false,
    -- The last synced state: the keys (docs/sync.md) both ends held then, in order, and each end's change
    -- marker right after (NULL before the first run: everything counts as changed).
    base              jsonb,
    a_marker          text,
    b_marker          text,
    last_synced_at    timestamptz,
    -- When the scheduler runs it next (NULL: not scheduled); failures in a row push it back.
    next_run_at       timestamptz,
    failures          integer     NOT NULL DEFAULT 0,
    last_error        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (user_id, a_provider, a_playlist_id, b_provider, b_playlist_id)
);
CREATE INDEX sync_links_due ON sync_links (next_run_at) WHERE NOT paused AND next_run_at IS NOT NULL;

-- A track of end a and a track of end b that the link holds to be the same song (matched once).
CREATE TABLE sync_pairs (
    link_id  uuid NOT NULL REFERENCES sync_links (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL,
    a_id     text NOT NULL,
    b_id     text NOT NULL,
    PRIMARY KEY (link_id, a_id)
);
CREATE INDEX sync_pairs_b ON sync_pairs (link_id, b_id);
CREATE INDEX sync_pairs_user ON sync_pairs (user_id);

-- One run (its job's id): the ends' track ids before it wrote (what undo restores), what it did.
CREATE TABLE sync_runs (
    id           uuid        PRIMARY KEY,
    link_id      uuid        NOT NULL REFERENCES sync_links (id) ON DELETE CASCADE,
    user_id      uuid        NOT NULL,
    -- sync | undo
    kind         text        NOT NULL,
    undo_of      uuid,
    -- The link's base before this run (an undo puts it back).
    base_before  jsonb,
    before_a     jsonb,
    before_b     jsonb,
    -- What the run did and met: operations, conflicts, unmatched tracks, what an undo could not restore.
    report       jsonb,
    confirmed    boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL
);
CREATE INDEX sync_runs_link ON sync_runs (link_id, created_at DESC);
CREATE INDEX sync_runs_user ON sync_runs (user_id);
CREATE UNIQUE INDEX sync_runs_one_undo ON sync_runs (undo_of) WHERE undo_of IS NOT NULL;
