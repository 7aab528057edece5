-- The user's linked accounts as auth announces them (pm.provider-links): which links a job may use,
-- and which need re-consent (jobs needing those pause instead of failing).
CREATE TABLE provider_links (
    user_id      uuid        NOT NULL,
    provider     text        NOT NULL,
    account_id   text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('linked', 'needs_reconsent')),
    display_name text,
    scopes       text[]      NOT NULL DEFAULT '{}',
    changed_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, provider)
);
