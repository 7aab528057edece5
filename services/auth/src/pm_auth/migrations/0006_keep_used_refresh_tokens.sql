-- Used refresh tokens of a live session are kept (a stolen one presented again must still revoke the
-- session, however long ago it was used); they go with their session once it ended (pm_auth/purge.py).
-- So nothing looks up refresh tokens by used_at any more.
DROP INDEX IF EXISTS refresh_tokens_used_idx;
