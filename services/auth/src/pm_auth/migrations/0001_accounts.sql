-- Accounts, sessions and refresh tokens.
CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL UNIQUE,          -- normalised (lower case)
    password_hash       text NOT NULL,                 -- argon2id, parameters and salt in the hash
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- One login on one device. The refresh tokens of a session form its family.
CREATE TABLE sessions (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_name         text,
    ip                  text,
    user_agent          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,          -- sliding (30 days), capped by absolute_expires_at
    absolute_expires_at timestamptz NOT NULL,          -- created_at + 90 days
    access_expires_at   timestamptz NOT NULL,          -- latest expiry of an access token issued for it
    revoked_at          timestamptz,
    revoked_reason      text
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC);

-- Only the SHA-256 of a refresh token is stored. used_at set = rotated; presenting it again = reuse.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Access-token signing keys (Ed25519). The private key is sealed by the token vault (MASTER_KEY).
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL DEFAULT 'EdDSA',
    public_key   bytea NOT NULL,
    key_id       text NOT NULL,                        -- master key that wraps the data key
    wrapped_key  bytea NOT NULL,
    private_key  bytea NOT NULL,                       -- nonce ‖ AES-256-GCM ciphertext
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz                           -- no longer signs; published until tokens expire
);
