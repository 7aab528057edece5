-- A job can wait for something only its user can give (e.g. consent again to a provider): it pauses,
-- naming what it waits for, and goes back to the queue when that happens (pm_platform/jobs.py).
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'));
ALTER TABLE jobs ADD COLUMN waiting_for text;
CREATE INDEX jobs_waiting ON jobs (user_id, waiting_for) WHERE state = 'paused';
