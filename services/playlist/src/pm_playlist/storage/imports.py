"""SQL for the parts of an imported playlist held until its last part arrives."""

from __future__ import annotations

import json
import zlib

import asyncpg

from pm_contracts.library import ImportedEntry, PlaylistImported


async def held_parts(conn: asyncpg.Connection, event: PlaylistImported) -> list[ImportedEntry] | None:
    """Hold this part; all the entries in order once every part of the playlist's import is here (the
    parts are then let go), None before. A part received twice is held once."""
    key = (event.user_id, event.provider.value, event.playlist.provider_playlist_id, event.job_id)
    # Parts of an import that never completed (a sibling dead-lettered, a partial replay) go after a day.
    await conn.execute(
        "DELETE FROM import_parts WHERE user_id = $1 AND received_at < now() - interval '1 day'",
        event.user_id,
    )
    await conn.execute(
        """INSERT INTO import_parts (user_id, provider, provider_playlist_id, job_id, part, parts, entries)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        *key,
        event.part,
        event.parts,
        zlib.compress(json.dumps([e.model_dump(mode="json") for e in event.entries or []]).encode()),
    )
    rows = await conn.fetch(
        """SELECT part, entries FROM import_parts
           WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3 AND job_id = $4 AND part <= $5
           ORDER BY part""",
        *key,
        event.parts,
    )
    if len(rows) < event.parts:
        return None
    await conn.execute(
        """DELETE FROM import_parts WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3
           AND job_id = $4""",
        *key,
    )
    return [ImportedEntry.model_validate(e) for r in rows for e in json.loads(zlib.decompress(r["entries"]))]
