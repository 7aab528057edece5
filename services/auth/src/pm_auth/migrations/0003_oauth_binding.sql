-- Binding a link attempt to the browser that started it (account-linking CSRF): the state and the
-- browser nonce are made when that browser opens GET /api/v1/auth/{provider}/start, not at authorize.
ALTER TABLE oauth_attempts ALTER COLUMN state_hash DROP NOT NULL;  -- NULL until started
ALTER TABLE oauth_attempts ADD COLUMN binding_hash bytea;           -- SHA-256 of the browser cookie's nonce
ALTER TABLE oauth_attempts ADD COLUMN started_at timestamptz;       -- when /start was opened (once only)
