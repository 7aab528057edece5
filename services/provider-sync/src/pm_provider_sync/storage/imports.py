"""SQL for imported_playlists: what the library imports sent of each provider playlist of a user."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from pm_provider_sync.domain.imports import Remembered


async def remembered(conn: asyncpg.Connection, user_id: uuid.UUID, provider: str) -> dict[str, Remembered]:
    """What was sent of each of the user's playlists on ``provider``, by provider playlist id."""
    rows = await conn.fetch(
        """SELECT provider_playlist_id, change_marker, details_digest, entries_digest
           FROM imported_playlists WHERE user_id = $1 AND provider = $2""",
        user_id,
        provider,
    )
    return {
        row["provider_playlist_id"]: Remembered(
            row["change_marker"], row["details_digest"], row["entries_digest"]
        )
        for row in rows
    }


async def remember(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    provider: str,
    provider_playlist_id: str,
    sent: Remembered,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO imported_playlists (user_id, provider, provider_playlist_id, change_marker,
                                           details_digest, entries_digest, imported_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (user_id, provider, provider_playlist_id) DO UPDATE SET
               change_marker = EXCLUDED.change_marker, details_digest = EXCLUDED.details_digest,
               entries_digest = EXCLUDED.entries_digest, imported_at = EXCLUDED.imported_at""",
        user_id,
        provider,
        provider_playlist_id,
        sent.change_marker,
        sent.details_digest,
        sent.entries_digest,
        at,
    )


async def forget_unlisted(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, listed: list[str]
) -> int:
    """Forget the user's playlists on ``provider`` that are not in ``listed``; how many were."""
    status = await conn.execute(
        """DELETE FROM imported_playlists
           WHERE user_id = $1 AND provider = $2 AND NOT (provider_playlist_id = ANY($3::text[]))""",
        user_id,
        provider,
        listed,
    )
    return int(status.split()[-1])


async def forget(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, provider_playlist_id: str
) -> bool:
    status = await conn.execute(
        """DELETE FROM imported_playlists
           WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3""",
        user_id,
        provider,
        provider_playlist_id,
    )
    return str(status).split()[-1] != "0"
