-- Provider linking: OAuth attempts (state, PKCE verifier) and the token vault.

CREATE TABLE oauth_attempts (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('redirect', 'poll')),
    state_hash    bytea NOT NULL UNIQUE,               -- SHA-256 of the state; the state itself is never stored
    return_to     text,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'expired')),
    error         text,
    key_id        text NOT NULL,
    wrapped_key   bytea NOT NULL,
    code_verifier bytea,                               -- sealed; NULL for providers without PKCE
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    state_used_at timestamptz,
    completed_at  timestamptz
);
CREATE INDEX oauth_attempts_user_idx ON oauth_attempts (user_id, created_at DESC);

-- One linked account per user and provider. Tokens sealed: per-record data key wrapped by MASTER_KEY.
CREATE TABLE provider_links (
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider          text NOT NULL,
    account_id        text NOT NULL,
    display_name      text,
    scopes            text[] NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'linked' CHECK (status IN ('linked', 'needs_reconsent')),
    status_reason     text,
    key_id            text NOT NULL,
    wrapped_key       bytea NOT NULL,
    access_token      bytea NOT NULL,
    refresh_token     bytea,
    access_expires_at timestamptz,                     -- NULL: does not expire (Deezer offline_access)
    linked_at         timestamptz NOT NULL DEFAULT now(),
    refreshed_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider)
);
CREATE INDEX provider_links_key_idx ON provider_links (key_id);
