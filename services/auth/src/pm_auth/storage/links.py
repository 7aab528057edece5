"""SQL of OAuth attempts and provider links (the token vault's rows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from pm_auth.domain.vault import WrappedKey


@dataclass(frozen=True)
class Attempt:
    id: uuid.UUID
    user_id: uuid.UUID
    provider: str
    mode: str
    return_to: str | None
    status: str
    error: str | None
    wrapped: WrappedKey
    code_verifier: bytes | None
    created_at: datetime
    expires_at: datetime
    state_used_at: datetime | None
    binding_hash: bytes | None = None
    started_at: datetime | None = None


_ATTEMPT = """id, user_id, provider, mode, return_to, status, error, key_id, wrapped_key, code_verifier,
              created_at, expires_at, state_used_at, binding_hash, started_at"""


def _attempt(r: asyncpg.Record) -> Attempt:
    return Attempt(
        r["id"],
        r["user_id"],
        r["provider"],
        r["mode"],
        r["return_to"],
        r["status"],
        r["error"],
        WrappedKey(r["key_id"], bytes(r["wrapped_key"])),
        bytes(r["code_verifier"]) if r["code_verifier"] is not None else None,
        r["created_at"],
        r["expires_at"],
        r["state_used_at"],
        bytes(r["binding_hash"]) if r["binding_hash"] is not None else None,
        r["started_at"],
    )


async def insert_attempt(
    conn: asyncpg.Connection,
    *,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    provider: str,
    mode: str,
    return_to: str | None,
    wrapped: WrappedKey,
    code_verifier: bytes | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A new attempt, not yet started: its state and browser binding are made by :func:`start_attempt`."""
    await conn.execute(
        """INSERT INTO oauth_attempts (id, user_id, provider, mode, return_to, key_id, wrapped_key,
                                       code_verifier, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        attempt_id,
        user_id,
        provider,
        mode,
        return_to,
        wrapped.key_id,
        wrapped.wrapped,
        code_verifier,
        now,
        expires_at,
    )


async def start_attempt(
    conn: asyncpg.Connection,
    attempt_id: uuid.UUID,
    provider: str,
    state_hash: bytes,
    binding_hash: bytes,
    now: datetime,
) -> Attempt | None:
    """Give a pending, unexpired, never-started attempt its state and browser binding (once only)."""
    row = await conn.fetchrow(
        f"""UPDATE oauth_attempts SET state_hash = $3, binding_hash = $4, started_at = $5
            WHERE id = $1 AND provider = $2 AND started_at IS NULL AND status = 'pending' AND expires_at > $5
            RETURNING {_ATTEMPT}""",
        attempt_id,
        provider,
        state_hash,
        binding_hash,
        now,
    )
    return _attempt(row) if row else None


async def attempt_by_id_any_user(conn: asyncpg.Connection, attempt_id: uuid.UUID) -> Attempt | None:
    row = await conn.fetchrow(f"SELECT {_ATTEMPT} FROM oauth_attempts WHERE id = $1", attempt_id)
    return _attempt(row) if row else None


async def consume_state(
    conn: asyncpg.Connection, provider: str, state_hash: bytes, now: datetime
) -> Attempt | None:
    """Mark the state used and return its attempt; None when no unused state matches (single use)."""
    row = await conn.fetchrow(
        f"""UPDATE oauth_attempts SET state_used_at = $3
            WHERE state_hash = $1 AND provider = $2 AND state_used_at IS NULL RETURNING {_ATTEMPT}""",
        state_hash,
        provider,
        now,
    )
    return _attempt(row) if row else None


async def attempt_by_state(conn: asyncpg.Connection, state_hash: bytes) -> Attempt | None:
    row = await conn.fetchrow(f"SELECT {_ATTEMPT} FROM oauth_attempts WHERE state_hash = $1", state_hash)
    return _attempt(row) if row else None


async def attempt_by_id(
    conn: asyncpg.Connection, attempt_id: uuid.UUID, user_id: uuid.UUID
) -> Attempt | None:
    row = await conn.fetchrow(
        f"SELECT {_ATTEMPT} FROM oauth_attempts WHERE id = $1 AND user_id = $2", attempt_id, user_id
    )
    return _attempt(row) if row else None


async def finish_attempt(
    conn: asyncpg.Connection, attempt_id: uuid.UUID, status: str, error: str | None, now: datetime
) -> None:
    """Record the outcome; the PKCE verifier is not needed any more and is dropped."""
    await conn.execute(
        """UPDATE oauth_attempts SET status = $2, error = $3, completed_at = $4, code_verifier = NULL
           WHERE id = $1""",
        attempt_id,
        status,
        error,
        now,
    )


async def purge_attempts(conn: asyncpg.Connection, user_id: uuid.UUID, older_than: datetime) -> int:
    """Forget the user's attempts that ended before ``older_than`` (kept a while for troubleshooting)."""
    status = await conn.execute(
        "DELETE FROM oauth_attempts WHERE user_id = $1 AND expires_at < $2", user_id, older_than
    )
    return int(status.split()[-1])


# The unique index of (provider, account_id): one provider account, one user (migration 0007).
ACCOUNT_KEY = "provider_links_account_key"


class AccountAlreadyLinked(Exception):
    """Another user has this provider account linked."""


@dataclass(frozen=True)
class Link:
    user_id: uuid.UUID
    provider: str
    account_id: str
    display_name: str | None
    scopes: list[str]
    status: str
    status_reason: str | None
    wrapped: WrappedKey
    access_token: bytes
    refresh_token: bytes | None
    access_expires_at: datetime | None
    linked_at: datetime


_LINK = """user_id, provider, account_id, display_name, scopes, status, status_reason, key_id, wrapped_key,
           access_token, refresh_token, access_expires_at, linked_at"""


def _link(r: asyncpg.Record) -> Link:
    return Link(
        r["user_id"],
        r["provider"],
        r["account_id"],
        r["display_name"],
        list(r["scopes"]),
        r["status"],
        r["status_reason"],
        WrappedKey(r["key_id"], bytes(r["wrapped_key"])),
        bytes(r["access_token"]),
        bytes(r["refresh_token"]) if r["refresh_token"] is not None else None,
        r["access_expires_at"],
        r["linked_at"],
    )


async def upsert_link(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    provider: str,
    account_id: str,
    display_name: str | None,
    scopes: list[str],
    wrapped: WrappedKey,
    access_token: bytes,
    refresh_token: bytes | None,
    access_expires_at: datetime | None,
    now: datetime,
) -> None:
    """Link (or link again: re-consent replaces the tokens and clears 'needs re-consent').

    Linking again also drops any refresh claim, so a refresh in flight for the old tokens stores nothing.
    Raises :class:`AccountAlreadyLinked` when another user has this provider account linked (the unique
    index of migration 0007; nothing is stored). A link marked ``legacy_shared`` stays so only while it
    is linked again to the same account.
    """
    try:
        await conn.execute(
            """INSERT INTO provider_links (user_id, provider, account_id, display_name, scopes, status, status_reason,
                                           key_id, wrapped_key, access_token, refresh_token, access_expires_at,
                                           linked_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'linked', NULL, $6, $7, $8, $9, $10, $11, $11)
               ON CONFLICT (user_id, provider) DO UPDATE SET
                   account_id = EXCLUDED.account_id, display_name = EXCLUDED.display_name, scopes = EXCLUDED.scopes,
                   status = 'linked', status_reason = NULL, key_id = EXCLUDED.key_id,
                   wrapped_key = EXCLUDED.wrapped_key, access_token = EXCLUDED.access_token,
                   refresh_token = EXCLUDED.refresh_token, access_expires_at = EXCLUDED.access_expires_at,
                   linked_at = EXCLUDED.linked_at, refreshed_at = NULL, updated_at = EXCLUDED.updated_at,
                   refresh_claim = NULL, refresh_claimed_until = NULL,
                   legacy_shared = provider_links.legacy_shared
                               AND provider_links.account_id = EXCLUDED.account_id""",
            user_id,
            provider,
            account_id,
            display_name,
            scopes,
            wrapped.key_id,
            wrapped.wrapped,
            access_token,
            refresh_token,
            access_expires_at,
            now,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == ACCOUNT_KEY:
            raise AccountAlreadyLinked(provider) from None
        raise


async def get_link(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, *, for_update: bool = False
) -> Link | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_LINK} FROM provider_links WHERE user_id = $1 AND provider = $2{lock}", user_id, provider
    )
    return _link(row) if row else None


async def lock_for_refresh(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str
) -> tuple[Link, bool] | None:
    """The link, locked until the caller's (short) transaction ends, and whether another refresh holds
    a live claim on it. Claims are judged by the database's clock, the one clock all replicas share."""
    row = await conn.fetchrow(
        f"""SELECT {_LINK}, coalesce(refresh_claimed_until > clock_timestamp(), false) AS claim_live
            FROM provider_links WHERE user_id = $1 AND provider = $2 FOR UPDATE""",
        user_id,
        provider,
    )
    return (_link(row), bool(row["claim_live"])) if row else None


async def claim_refresh(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, claim: uuid.UUID, ttl: timedelta
) -> None:
    """Take the refresh for ``claim`` until ``ttl`` from now (call with the row locked by
    :func:`lock_for_refresh`, after checking that no other claim is live)."""
    await conn.execute(
        """UPDATE provider_links SET refresh_claim = $3, refresh_claimed_until = clock_timestamp() + $4::interval
           WHERE user_id = $1 AND provider = $2""",
        user_id,
        provider,
        claim,
        ttl,
    )


async def release_refresh_claim(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, claim: uuid.UUID
) -> bool:
    """Give the claim up (the refresh failed) so that the next caller need not wait for it to lapse."""
    status = await conn.execute(
        """UPDATE provider_links SET refresh_claim = NULL, refresh_claimed_until = NULL
           WHERE user_id = $1 AND provider = $2 AND refresh_claim = $3""",
        user_id,
        provider,
        claim,
    )
    return bool(status.endswith(" 1"))


async def links_of_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[Link]:
    rows = await conn.fetch(
        f"SELECT {_LINK} FROM provider_links WHERE user_id = $1 ORDER BY provider", user_id
    )
    return [_link(r) for r in rows]


async def store_refreshed(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    provider: str,
    claim: uuid.UUID,
    refreshed_from: WrappedKey,
    wrapped: WrappedKey,
    access_token: bytes,
    refresh_token: bytes | None,
    access_expires_at: datetime | None,
    scopes: list[str],
    now: datetime,
) -> bool:
    """New tokens after a refresh, sealed under a fresh data key (wrapped by the current master key),
    and our claim released. Compare-and-set: stores (True) while ``claim`` still holds the row, or,
    should it have lapsed, while the row still holds the tokens the refresh started from
    (``refreshed_from``: a new data key comes with every store, re-link and refresh) and is linked; the
    provider may have rotated the refresh token, so these tokens must not be dropped. Otherwise stores
    nothing (False): another refresh stored newer tokens, or the link was linked again or deleted."""
    status = await conn.execute(
        """UPDATE provider_links SET key_id = $6, wrapped_key = $7, access_token = $8, refresh_token = $9,
                  access_expires_at = $10, scopes = $11, refreshed_at = $12, updated_at = $12,
                  refresh_claim = CASE WHEN refresh_claim = $3 THEN NULL ELSE refresh_claim END,
                  refresh_claimed_until = CASE WHEN refresh_claim = $3 THEN NULL ELSE refresh_claimed_until END
           WHERE user_id = $1 AND provider = $2
             AND (refresh_claim = $3
                  OR (key_id = $4 AND wrapped_key = $5 AND status = 'linked'))""",
        user_id,
        provider,
        claim,
        refreshed_from.key_id,
        refreshed_from.wrapped,
        wrapped.key_id,
        wrapped.wrapped,
        access_token,
        refresh_token,
        access_expires_at,
        scopes,
        now,
    )
    return bool(status.endswith(" 1"))


async def mark_needs_reconsent(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    provider: str,
    reason: str,
    now: datetime,
    *,
    claim: uuid.UUID,
    refreshed_from: WrappedKey,
) -> bool:
    """The provider refused the refresh of ``claim``: the link needs re-consent (claim released).
    Compare-and-set: False, and nothing changed, if the claim was lost, or if the row no longer holds
    the tokens the refresh started from (a refresh whose claim had lapsed stored newer ones: the
    refusal was of a refresh token already rotated, not of the link)."""
    status = await conn.execute(
        """UPDATE provider_links SET status = 'needs_reconsent', status_reason = $4, updated_at = $5,
                  refresh_claim = NULL, refresh_claimed_until = NULL
           WHERE user_id = $1 AND provider = $2 AND refresh_claim = $3
             AND key_id = $6 AND wrapped_key = $7""",
        user_id,
        provider,
        claim,
        reason[:500],
        now,
        refreshed_from.key_id,
        refreshed_from.wrapped,
    )
    return bool(status.endswith(" 1"))


async def delete_link(conn: asyncpg.Connection, user_id: uuid.UUID, provider: str) -> bool:
    status = await conn.execute(
        "DELETE FROM provider_links WHERE user_id = $1 AND provider = $2", user_id, provider
    )
    return bool(status.endswith(" 1"))
