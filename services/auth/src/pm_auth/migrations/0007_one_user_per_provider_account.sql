-- One provider account is linked to one user at most: linking an account that another user has linked
-- is refused (usecases/links.py: the attempt fails with account_already_linked). The unique index is
-- what makes that race-free: two users completing the same account at once cannot both store it.
--
-- Links stored before this rule may already share an account. Nothing is deleted and the migration
-- cannot fail on them: the earliest link of each account keeps it (inside the index); the later ones
-- keep working (their tokens, refreshes and re-consent with the same account) but are marked
-- legacy_shared and stay outside the index. A marked link that is linked again to another account, or
-- unlinked and linked anew, is under the rule like any other.
ALTER TABLE provider_links ADD COLUMN IF NOT EXISTS legacy_shared boolean NOT NULL DEFAULT false;

UPDATE provider_links AS later SET legacy_shared = true
WHERE EXISTS (
    SELECT 1 FROM provider_links AS earlier
    WHERE earlier.provider = later.provider
      AND earlier.account_id = later.account_id
      AND (earlier.linked_at, earlier.user_id) < (later.linked_at, later.user_id)
);

CREATE UNIQUE INDEX IF NOT EXISTS provider_links_account_key
    ON provider_links (provider, account_id) WHERE NOT legacy_shared;
