-- One job shape for every long-running piece of work in any service.
CREATE TABLE jobs (
    id           uuid        PRIMARY KEY,
    kind         text        NOT NULL,
    user_id      uuid,
    state        text        NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress     real        NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message      text,
    params       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    result       jsonb,
    error        jsonb,
    cancel_requested boolean NOT NULL DEFAULT false,
    attempts     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_user ON jobs (user_id, created_at DESC);
CREATE INDEX jobs_runnable ON jobs (created_at) WHERE state = 'queued';
