"""SQL for the provider links provider-sync mirrors from auth's events.

Events of one user arrive in order (the key is the user id); ``changed_at`` still guards against an
older event overwriting a newer state after a replay.
"""

import uuid
from datetime import datetime

import asyncpg


async def upsert_link(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    provider: str,
    account_id: str,
    status: str,
    changed_at: datetime,
    display_name: str | None = None,
    scopes: list[str] | None = None,
) -> bool:
    """Record the link's state as of ``changed_at``; False (nothing changed) for an older event."""
    status_line = await conn.execute(
        """INSERT INTO provider_links (user_id, provider, account_id, status, display_name, scopes, changed_at)
           VALUES ($1, $2, $3, $4, $5, COALESCE($6, '{}'::text[]), $7)
           ON CONFLICT (user_id, provider) DO UPDATE SET
               account_id = EXCLUDED.account_id, status = EXCLUDED.status,
               display_name = COALESCE(EXCLUDED.display_name, provider_links.display_name),
               scopes = CASE WHEN $6 IS NULL THEN provider_links.scopes ELSE EXCLUDED.scopes END,
               changed_at = EXCLUDED.changed_at
           WHERE provider_links.changed_at <= EXCLUDED.changed_at""",
        user_id,
        provider,
        account_id,
        status,
        display_name,
        scopes,
        changed_at,
    )
    return bool(status_line.endswith(" 1"))


async def delete_link(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, changed_at: datetime
) -> None:
    await conn.execute(
        "DELETE FROM provider_links WHERE user_id = $1 AND provider = $2 AND changed_at <= $3",
        user_id,
        provider,
        changed_at,
    )


async def link_status(conn: asyncpg.Connection, user_id: uuid.UUID, provider: str) -> str | None:
    """'linked', 'needs_reconsent', or None when the user has no such link."""
    status: str | None = await conn.fetchval(
        "SELECT status FROM provider_links WHERE user_id = $1 AND provider = $2", user_id, provider
    )
    return status


async def link_statuses(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, str]:
    """The user's links by provider: 'linked' or 'needs_reconsent' (providers not linked are absent)."""
    rows = await conn.fetch("SELECT provider, status FROM provider_links WHERE user_id = $1", user_id)
    return {row["provider"]: row["status"] for row in rows}
