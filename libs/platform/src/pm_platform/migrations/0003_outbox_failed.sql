-- An outbox row that can never be published (too large, not a valid envelope) is set aside instead of
-- blocking every row behind it; operators see it in the log and in last_error.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL AND failed_at IS NULL;
