-- The files exports stored: one row per export job that completed, so a download link can be handed out
-- again (until the file expires) without asking the job's result, and a deleted user's are found.
CREATE TABLE exports (
    job_id      uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    format      text NOT NULL,
    object_name text NOT NULL,
    file_name   text NOT NULL,
    media_type  text NOT NULL,
    size_bytes  bigint NOT NULL,
    sha256      text NOT NULL,
    playlists   integer NOT NULL,
    entries     integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX exports_by_user_idx ON exports (user_id, created_at);
