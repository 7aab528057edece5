-- Provider-token refreshes without a lock across the provider call: a short transaction claims the
-- refresh, the provider is called with no transaction open, and the new tokens are stored only if the
-- claim is still the same (compare-and-set). Re-linking clears the claim, so a refresh that raced a
-- re-link stores nothing. A claim lapses at refresh_claimed_until (a crashed replica blocks no one).
ALTER TABLE provider_links ADD COLUMN refresh_claim uuid;                 -- random per refresh attempt
ALTER TABLE provider_links ADD COLUMN refresh_claimed_until timestamptz;  -- by the database's clock
