"""SQL for the current entries of a playlist, a row per entry in the order of its sort key.

An edit is computed on the whole list in memory (domain/entries.py) and written as what differs: the
rows removed, the rows placed anew (moved or added, between their neighbours' keys), nothing else. An
entry's position is its rank, so positions are dense whatever the edit. The primary key (playlist, sort
key) is checked at commit, so rows can be placed in any order within the transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from pm_playlist.domain.entries import Entries, Entry
from pm_playlist.domain.history import diff
from pm_playlist.domain.playlists import EntryView
from pm_playlist.domain.sort_keys import dealt, place
from pm_playlist.storage.enrichment import ENRICHMENT_COLUMNS, ENRICHMENT_JOIN, enrichment_of_row


@dataclass(frozen=True, slots=True)
class StoredEntries:
    """A playlist's entries in order, with the sort key each is stored under (domain/sort_keys.py)."""

    entries: Entries
    keys: tuple[int, ...]


NONE_STORED = StoredEntries((), ())


async def load_entries(conn: asyncpg.Connection, playlist_id: uuid.UUID) -> StoredEntries:
    rows = await conn.fetch(
        "SELECT id, track_id, added_at, added_by, sort_key FROM entries WHERE playlist_id = $1 ORDER BY sort_key",
        playlist_id,
    )
    return StoredEntries(
        tuple(Entry(r["id"], r["track_id"], r["added_at"], r["added_by"]) for r in rows),
        tuple(r["sort_key"] for r in rows),
    )


@dataclass(frozen=True, slots=True)
class Written:
    """What a write changed: entries added, removed, and moved (placed anew among those that stayed)."""

    added: int
    removed: int
    moved: int


async def write_changes(
    conn: asyncpg.Connection,
    playlist_id: uuid.UUID,
    old: StoredEntries,
    new: Entries,
    moved: frozenset[uuid.UUID] | None = None,
) -> Written:
    """Make the stored entries ``new``, given they are ``old``: entries that keep their relative order
    keep their rows untouched; the removed rows go, the moved and added ones are placed between their
    neighbours (domain/sort_keys.py). ``moved``: the entries the edit moved when it says so
    (domain/history.py's ``known_moves``), else the fewest moves that explain the new order are found."""
    if moved is None:
        moved = frozenset(m.entry.id for m in diff(old.entries, new).moved)
    old_keys = {e.id: k for e, k in zip(old.entries, old.keys, strict=True)}
    keys = place([old_keys[e.id] if e.id in old_keys and e.id not in moved else None for e in new])
    if keys is None:  # a gap ran out: every entry is dealt a key again
        keys = dealt(len(new))
    staying = {e.id for e in new}
    removed = [k for e, k in zip(old.entries, old.keys, strict=True) if e.id not in staying]
    placed = [
        (old_keys[e.id], k)
        for e, k in zip(new, keys, strict=True)
        if e.id in old_keys and old_keys[e.id] != k
    ]
    added = [(k, e) for e, k in zip(new, keys, strict=True) if e.id not in old_keys]
    if removed:
        await conn.execute(
            "DELETE FROM entries WHERE playlist_id = $1 AND sort_key = ANY($2::bigint[])",
            playlist_id,
            removed,
        )
    if placed:
        await conn.execute(
            """UPDATE entries AS e SET sort_key = m.new_key
               FROM unnest($2::bigint[], $3::bigint[]) AS m(old_key, new_key)
               WHERE e.playlist_id = $1 AND e.sort_key = m.old_key""",
            playlist_id,
            [old for old, _ in placed],
            [new_key for _, new_key in placed],
        )
    if added:
        await conn.execute(
            """INSERT INTO entries (playlist_id, sort_key, id, track_id, added_at, added_by)
               SELECT $1, * FROM unnest($2::bigint[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::text[])""",
            playlist_id,
            [k for k, _ in added],
            [e.id for _, e in added],
            [e.track_id for _, e in added],
            [e.added_at for _, e in added],
            [e.added_by for _, e in added],
        )
    return Written(len(added), len(removed), len(moved & staying & old_keys.keys()))


_VIEW = f"""e.id, e.added_at, e.added_by, t.id AS track_id, t.title, t.artists, t.album,
           t.duration_ms, t.isrc, t.explicit, t.release_date, t.provider_ids, t.media_type, t.is_local,
           t.available, {ENRICHMENT_COLUMNS}"""


def _view(position: int, row: asyncpg.Record) -> EntryView:
    values = dict(row, position=position)
    values["artists"] = list(values["artists"])
    values["provider_ids"] = json.loads(values["provider_ids"])
    values["enrichment"] = enrichment_of_row(values)
    return EntryView(**values)


async def entries_page(
    conn: asyncpg.Connection, playlist_id: uuid.UUID, offset: int, limit: int
) -> list[EntryView]:
    """Positions ``offset`` … ``offset + limit - 1``: ranks in the primary key's order. The page's entries
    are chosen first and only they are joined with their tracks (joining first would read every track
    of the entries skipped), and each track with its enrichment (storage/enrichment.py: a primary-key
    probe per provider id), all in this one query."""
    rows = await conn.fetch(
        f"""SELECT {_VIEW}
            FROM (SELECT id, added_at, added_by, track_id, sort_key FROM entries WHERE playlist_id = $1
                  ORDER BY sort_key OFFSET $2 LIMIT $3) AS e
            JOIN tracks t ON t.id = e.track_id {ENRICHMENT_JOIN}
            ORDER BY e.sort_key""",
        playlist_id,
        offset,
        limit,
    )
    return [_view(offset + i, r) for i, r in enumerate(rows)]


async def track_views(
    conn: asyncpg.Connection, track_ids: list[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """The tracks named (a version's entries: they may no longer be in any current entry)."""
    rows = await conn.fetch(
        """SELECT id, title, artists, album, duration_ms, isrc, explicit, release_date, provider_ids,
                  media_type, is_local, available
           FROM tracks WHERE id = ANY($1::uuid[])""",
        track_ids,
    )
    return {r["id"]: r for r in rows}
