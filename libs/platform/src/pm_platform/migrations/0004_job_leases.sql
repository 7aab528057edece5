-- A running job holds a lease its worker renews; a job whose lease ran out lost its worker (crash,
-- kill, OOM) and is put back in the queue by any runner, or failed after too many attempts.
ALTER TABLE jobs ADD COLUMN lease_until timestamptz;
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
