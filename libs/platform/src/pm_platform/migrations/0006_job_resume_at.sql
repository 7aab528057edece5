-- A paused job may wait for a time rather than for its user: a provider's daily quota that resets at
-- midnight, a Retry-After of an hour. The runners' upkeep puts it back in the queue once resume_at has
-- passed (pm_platform/jobs). checkpoint: what a job's handler keeps to resume from (never published).
ALTER TABLE jobs ADD COLUMN resume_at timestamptz;
ALTER TABLE jobs ADD COLUMN checkpoint jsonb;
CREATE INDEX jobs_resume_due ON jobs (resume_at) WHERE state = 'paused' AND resume_at IS NOT NULL;
