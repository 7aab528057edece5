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
    Two statements: where the tracks are (the entries by playlist), then the tracks by key."""
    # Not one statement with "$2 IS NULL OR p.id = $2" (its generic plan could not use the key), nor a
    # join of the tracks (planned as a scan of every user's tracks for a large playlist).
    which = "p.user_id = $1" if playlist_id is None else "p.id = $2 AND p.user_id = $1"
    places = await conn.fetch(
        f"""SELECT e.track_id, e.playlist_id, count(*) AS n, min(e.sort_key) AS first_key
            FROM playlists p JOIN entries e ON e.playlist_id = p.id
            WHERE {which}
            GROUP BY e.track_id, e.playlist_id""",
        *((user_id,) if playlist_id is None else (user_id, playlist_id)),
    )
    where: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    first: dict[uuid.UUID, int] = {}
    for place in places:
        where.setdefault(place["track_id"], {})[place["playlist_id"]] = int(place["n"])
        first[place["track_id"]] = min(first.get(place["track_id"], place["first_key"]), place["first_key"])
    rows = await conn.fetch(
        """SELECT id, title, artists, duration_ms, isrc, release_date, provider_ids
           FROM tracks WHERE id = ANY($1::uuid[])""",
        list(where),
    )
    found = [
        LibraryTrack(
            id=r["id"],
            title=r["title"],
            artists=tuple(r["artists"]),
            duration_ms=r["duration_ms"],
            isrc=r["isrc"],
            release_date=r["release_date"],
            provider_ids=json.loads(r["provider_ids"]),
            playlists=where[r["id"]],
        )
        for r in rows
    ]
    found.sort(key=lambda t: (first[t.id], t.id))
    return found


async def playlist_names(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM playlists WHERE user_id = $1", user_id)
    return {r["id"]: r["name"] for r in rows}


async def owns_playlist(conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: uuid.UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM playlists WHERE id = $1 AND user_id = $2)", playlist_id, user_id
    )
    return found
