"""SQL for a playlist's history: each version's edit (compressed), and snapshots every so often
(domain/history.py decides when, and replays a version from its snapshot)."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from typing import Any

import asyncpg

from pm_playlist.domain.entries import (
    Edit,
    Entries,
    edit_from_record,
    entries_from_records,
    entries_to_records,
)
from pm_playlist.domain.history import replay, steps_of
from pm_playlist.domain.playlists import Version


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


async def add_version(
    conn: asyncpg.Connection,
    playlist_id: uuid.UUID,
    version: Version,
    edit: Edit | None,
) -> None:
    await add_versions(conn, playlist_id, [(version, edit)])


async def add_versions(
    conn: asyncpg.Connection, playlist_id: uuid.UUID, versions: Sequence[tuple[Version, Edit | None]]
) -> None:
    """Each version's row and the edit that made it (None: none kept), in one pipelined statement (a
    restored history brings thousands)."""
    await conn.executemany(
        """INSERT INTO playlist_versions (playlist_id, version, kind, author, created_at, edit, details, added,
                                          removed, moved, entry_count, edit_size, edit_steps)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13)""",
        [
            (
                playlist_id,
                version.version,
                version.kind,
                version.author,
                version.created_at,
                _pack(edit.to_record()) if edit is not None else None,
                json.dumps(version.details) if version.details is not None else None,
                version.added,
                version.removed,
                version.moved,
                version.entry_count,
                edit.size if edit is not None else 0,
                steps_of(edit) if edit is not None else 0,
            )
            for version, edit in versions
        ],
    )


async def add_snapshot(
    conn: asyncpg.Connection, playlist_id: uuid.UUID, version: int, entries: Entries
) -> None:
    await conn.execute(
        "INSERT INTO playlist_snapshots (playlist_id, version, entries) VALUES ($1, $2, $3)",
        playlist_id,
        version,
        _pack(entries_to_records(entries)),
    )


async def sizes_since_snapshot(conn: asyncpg.Connection, playlist_id: uuid.UUID) -> list[tuple[int, int]]:
    """The size and passes of each edit kept since the playlist's last snapshot
    (domain/history.needs_snapshot)."""
    rows = await conn.fetch(
        """SELECT edit_size, edit_steps FROM playlist_versions
           WHERE playlist_id = $1 AND edit IS NOT NULL AND version > (
               SELECT coalesce(max(version), 0) FROM playlist_snapshots WHERE playlist_id = $1)
           ORDER BY version""",
        playlist_id,
    )
    return [(r["edit_size"], r["edit_steps"]) for r in rows]


async def list_versions(
    conn: asyncpg.Connection, playlist_id: uuid.UUID, before: int | None, limit: int
) -> list[Version]:
    """Newest first; ``before``: only versions older than that (the cursor)."""
    rows = await conn.fetch(
        """SELECT version, kind, author, created_at, added, removed, moved, entry_count, details
           FROM playlist_versions WHERE playlist_id = $1 AND version < $2
           ORDER BY version DESC LIMIT $3""",
        playlist_id,
        before if before is not None else 2**31 - 1,
        limit,
    )
    return [
        Version(**{**dict(r), "details": json.loads(r["details"]) if r["details"] is not None else None})
        for r in rows
    ]


async def version_entries(conn: asyncpg.Connection, playlist_id: uuid.UUID, version: int) -> Entries | None:
    """The entries of ``version``, replayed from its nearest snapshot (None: no such version)."""
    snapshot = await nearest_snapshot(conn, playlist_id, version)
    exists = await conn.fetchval(
        "SELECT 1 FROM playlist_versions WHERE playlist_id = $1 AND version = $2", playlist_id, version
    )
    if snapshot is None or exists is None:
        return None
    snapshot_version, start = snapshot
    return replay(start, await edits_after(conn, playlist_id, snapshot_version, version))


async def nearest_snapshot(
    conn: asyncpg.Connection, playlist_id: uuid.UUID, version: int
) -> tuple[int, Entries] | None:
    """The latest snapshot at or before ``version``: its version and entries."""
    row = await conn.fetchrow(
        """SELECT version, entries FROM playlist_snapshots WHERE playlist_id = $1 AND version <= $2
           ORDER BY version DESC LIMIT 1""",
        playlist_id,
        version,
    )
    return (row["version"], entries_from_records(_unpack(row["entries"]))) if row is not None else None


async def edits_after(conn: asyncpg.Connection, playlist_id: uuid.UUID, after: int, upto: int) -> list[Edit]:
    """The edits that made versions ``after + 1`` … ``upto``, in order."""
    rows = await conn.fetch(
        """SELECT edit FROM playlist_versions
           WHERE playlist_id = $1 AND version > $2 AND version <= $3 AND edit IS NOT NULL ORDER BY version""",
        playlist_id,
        after,
        upto,
    )
    return [edit_from_record(_unpack(r["edit"])) for r in rows]
