"""SQL for the ``playlists`` table: a user's library playlists and their details.

Every read names the user (but ``owner_of``): a playlist of another user is found exactly like one that
does not exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from pm_playlist.domain.listing import ListQuery
from pm_playlist.domain.playlists import Playlist

_COLUMNS = ", ".join(Playlist.__slots__)


async def insert_playlist(conn: asyncpg.Connection, playlist: Playlist) -> None:
    values = [getattr(playlist, name) for name in Playlist.__slots__]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    await conn.execute(f"INSERT INTO playlists ({_COLUMNS}) VALUES ({placeholders})", *values)


async def get_playlist(
    conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: uuid.UUID, *, lock: bool = False
) -> Playlist | None:
    """The user's playlist, or None (also for another user's). ``lock``: for the edit that follows, so
    edits of one playlist happen one after the other and positions stay dense."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM playlists WHERE id = $1 AND user_id = $2" + (" FOR UPDATE" if lock else ""),
        playlist_id,
        user_id,
    )
    return Playlist.from_row(row) if row is not None else None


async def owner_of(conn: asyncpg.Connection, playlist_id: uuid.UUID) -> uuid.UUID | None:
    """Whose playlist this id is, if anyone's: the one read that does not name the user, for an id a
    producer chose (a file import's) — ids are unique across users, so one taken by another user must
    be refused, never written to."""
    owner: uuid.UUID | None = await conn.fetchval("SELECT user_id FROM playlists WHERE id = $1", playlist_id)
    return owner


async def find_by_origin(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, provider_playlist_id: str
) -> Playlist | None:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM playlists
            WHERE user_id = $1 AND origin_provider = $2 AND origin_playlist_id = $3 FOR UPDATE""",
        user_id,
        provider,
        provider_playlist_id,
    )
    return Playlist.from_row(row) if row is not None else None


_SORT_KEYS = {"name": "lower(name)", "created": "created_at", "updated": "updated_at"}


async def list_playlists(
    conn: asyncpg.Connection, user_id: uuid.UUID, query: ListQuery
) -> list[tuple[Playlist, str]]:
    """A page of the user's playlists (``query.limit`` + 1, so the caller knows whether more follow),
    each with its sort value as the cursor holds it."""
    key = _SORT_KEYS[query.key]
    direction = "DESC" if query.descending else "ASC"
    where = ["user_id = $1"]
    args: list[Any] = [user_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.provider is not None:
        where.append(f"origin_provider = {arg(query.provider)}")
    if query.origin == "created":
        where.append("origin_provider IS NULL")
    elif query.origin == "own":
        where.append("origin_provider IS NOT NULL AND NOT read_only")
    elif query.origin == "followed":
        where.append("read_only")
    if query.collection is not None:
        where.append(f"collection = {arg(query.collection)}")
    if query.name is not None:
        escaped = query.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"name ILIKE {arg('%' + escaped + '%')}")
    if query.after is not None:
        value, after_id = query.after
        typed = value if query.key == "name" else datetime.fromisoformat(value)
        where.append(f"({key}, id) {'<' if query.descending else '>'} ({arg(typed)}, {arg(after_id)})")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS}, {key} AS sort_value FROM playlists WHERE {" AND ".join(where)}
            ORDER BY {key} {direction}, id {direction} LIMIT {arg(query.limit + 1)}""",
        *args,
    )
    return [
        (
            Playlist.from_row(r),
            r["sort_value"] if query.key == "name" else r["sort_value"].astimezone(UTC).isoformat(),
        )
        for r in rows
    ]


async def save_playlist(conn: asyncpg.Connection, playlist: Playlist) -> None:
    """Write back a playlist read with ``lock`` and changed (details, origin, version, counts)."""
    names = [n for n in Playlist.__slots__ if n not in ("id", "user_id", "created_at")]
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    await conn.execute(
        f"UPDATE playlists SET {sets} WHERE id = $1", playlist.id, *(getattr(playlist, n) for n in names)
    )


async def delete_playlist(conn: asyncpg.Connection, playlist_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM playlists WHERE id = $1", playlist_id)


async def not_listed_any_more(
    conn: asyncpg.Connection, user_id: uuid.UUID, provider: str, listed: list[str]
) -> list[Playlist]:
    """The user's playlists from ``provider`` that it did not list and that are not yet marked gone
    (locked, to be marked)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM playlists
            WHERE user_id = $1 AND origin_provider = $2 AND NOT gone_from_provider
              AND NOT (origin_playlist_id = ANY($3::text[]))
            ORDER BY id FOR UPDATE""",
        user_id,
        provider,
        listed,
    )
    return [Playlist.from_row(r) for r in rows]


async def touch_playlists_holding(conn: asyncpg.Connection, track_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The metadata of these tracks changed: every playlist holding one gets a new track revision (its
    ETag changes; its history does not). Returns their ids."""
    if not track_ids:
        return []
    rows = await conn.fetch(
        """UPDATE playlists SET track_revision = track_revision + 1
           WHERE id IN (SELECT DISTINCT playlist_id FROM entries WHERE track_id = ANY($1::uuid[]))
           RETURNING id""",
        track_ids,
    )
    return [r["id"] for r in rows]
