-- An undo that failed or was cancelled can be asked for again: a run may have several undos, one of
-- them at most not failed (usecases/sync.py undo_run decides, with the link's row locked).
DROP INDEX sync_runs_one_undo;
CREATE INDEX sync_runs_undo_of ON sync_runs (undo_of, created_at) WHERE undo_of IS NOT NULL;

-- A link with a library playlist as an end: where that playlist was imported from (`provider:id`). An
-- import of that provider playlist brings its details only, since the link keeps the two the same.
ALTER TABLE sync_links ADD COLUMN library_origin text;
CREATE INDEX sync_links_library_origin ON sync_links (user_id, library_origin) WHERE library_origin IS NOT NULL;
