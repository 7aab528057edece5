"""SQL for the parts of an imported playlist held until its last part arrives.

Every import holds its parts here: a provider's (``source`` the provider, ``playlist`` its playlist
id), a file's (``source`` 'file', never a provider's name, ``playlist`` the library id the importer
named) and a restored backup's (``source`` 'restore', ``playlist`` the backup's playlist id). A part is
the same thing for all — a few thousand items of one playlist of one job (its entries; a restore's part
is held as one item, its entries and its steps of history), let go once the last arrives — so one table
and one set of statements serve them.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from pydantic import BaseModel

E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class PartsOf:
    """The import a part belongs to: the user's, of one playlist from one source, by one job."""

    user_id: uuid.UUID
    source: str
    playlist: str
    job_id: uuid.UUID


async def held_parts(
    conn: asyncpg.Connection, of: PartsOf, part: int, parts: int, entries: Sequence[E], model: type[E]
) -> list[E] | None:
    """Hold this part's items; all the items in order (read back as ``model``) once every part of the
    playlist's import is here (the parts are then let go), None before. A part received twice is held
    once."""
    key = (of.user_id, of.source, of.playlist, of.job_id)
    # Parts of an import that never completed (a sibling dead-lettered, a partial replay) go after a day.
    await conn.execute(
        "DELETE FROM import_parts WHERE user_id = $1 AND received_at < now() - interval '1 day'",
        of.user_id,
    )
    await conn.execute(
        """INSERT INTO import_parts (user_id, provider, provider_playlist_id, job_id, part, parts, entries)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        *key,
        part,
        parts,
        zlib.compress(json.dumps([e.model_dump(mode="json") for e in entries]).encode()),
    )
    rows = await conn.fetch(
        """SELECT part, entries FROM import_parts
           WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3 AND job_id = $4 AND part <= $5
           ORDER BY part""",
        *key,
        parts,
    )
    if len(rows) < parts:
        return None
    await conn.execute(
        """DELETE FROM import_parts WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3
           AND job_id = $4""",
        *key,
    )
    return [model.model_validate(e) for r in rows for e in json.loads(zlib.decompress(r["entries"]))]


async def let_go(conn: asyncpg.Connection, user_id: uuid.UUID, source: str, playlist: str) -> None:
    """Forget the parts held for this playlist, by any job (it is applied already, or never will be)."""
    await conn.execute(
        "DELETE FROM import_parts WHERE user_id = $1 AND provider = $2 AND provider_playlist_id = $3",
        user_id,
        source,
        playlist,
    )
