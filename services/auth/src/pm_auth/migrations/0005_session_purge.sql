-- The periodic purge (pm_auth/purge.py) finds sessions that ended (revoked or expired) and used refresh
-- tokens older than SESSION_RETENTION_DAYS through these, in bounded batches.
CREATE INDEX sessions_ended_idx ON sessions ((least(revoked_at, expires_at)));
CREATE INDEX refresh_tokens_used_idx ON refresh_tokens (used_at) WHERE used_at IS NOT NULL;
