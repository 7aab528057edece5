-- What a sync run needs to be undone exactly and resumed safely (usecases/sync.py):
-- the ends as the run left them (an undo merges the owner's later edits with the way back), whether it
-- has started writing (until then each attempt takes the ends afresh as its "before"), and the removals
-- the owner confirmed past the brake (a re-planned run that would remove more is stopped again).
ALTER TABLE sync_runs ADD COLUMN after_a jsonb;
ALTER TABLE sync_runs ADD COLUMN after_b jsonb;
ALTER TABLE sync_runs ADD COLUMN writing boolean NOT NULL DEFAULT false;
ALTER TABLE sync_runs ADD COLUMN braked jsonb;

-- The same two playlists linked either way round are one link.
CREATE UNIQUE INDEX sync_links_same_ends ON sync_links (
    user_id,
    LEAST(a_provider || ':' || a_playlist_id, b_provider || ':' || b_playlist_id),
    GREATEST(a_provider || ':' || a_playlist_id, b_provider || ':' || b_playlist_id)
);
