"""SQL of the library's insights (domain/insights.py): a user's tracks, each once, with the playlists
holding it."""

from __future__ import annotations

import json
import uuid

import asyncpg

from pm_playlist.domain.insights import LibraryTrack


async def library_tracks(
    conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: uuid.UUID | None = None
) -> list[LibraryTrack]:
    """The user's tracks in any playlist (or in ``playlist_id`` only), each once, with the number of its
    entries in each playlist holding it; in order of their first entry (for one playlist: its order).
    One statement (entries by playlist, the tracks by key)."""
    rows = await conn.fetch(
        """SELECT t.id, t.title, t.artists, t.duration_ms, t.isrc, t.release_date, t.provider_ids,
                  jsonb_object_agg(x.playlist_id::text, x.n) AS playlists
           FROM (SELECT e.track_id, e.playlist_id, count(*) AS n, min(e.sort_key) AS first_key
                 FROM playlists p JOIN entries e ON e.playlist_id = p.id
                 WHERE p.user_id = $1 AND ($2::uuid IS NULL OR p.id = $2)
                 GROUP BY e.track_id, e.playlist_id) x
           JOIN tracks t ON t.id = x.track_id
           GROUP BY t.id
           ORDER BY min(x.first_key), t.id""",
        user_id,
        playlist_id,
    )
    return [
        LibraryTrack(
            id=r["id"],
            title=r["title"],
            artists=tuple(r["artists"]),
            duration_ms=r["duration_ms"],
            isrc=r["isrc"],
            release_date=r["release_date"],
            provider_ids=json.loads(r["provider_ids"]),
            playlists={uuid.UUID(k): int(v) for k, v in json.loads(r["playlists"]).items()},
        )
        for r in rows
    ]


async def playlist_names(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM playlists WHERE user_id = $1", user_id)
    return {r["id"]: r["name"] for r in rows}


async def owns_playlist(conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: uuid.UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM playlists WHERE id = $1 AND user_id = $2)", playlist_id, user_id
    )
    return found
