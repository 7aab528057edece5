"""A playlist read from a file the user uploaded (the export service's file import, events of
pm.library-imports), made a playlist of the user's library.

The importer names the playlist (``playlist_id``, derived from its job). Its parts are held
(storage/imports.py, under the source 'file' and that id) until the last one arrives; the playlist is
then created whole in that event's transaction: its tracks (domain/imports.py's ``file_track_record``),
its entries in the file's order, version 1 (``import``, author ``import:file``) and ``playlist.created``,
as a playlist created in the library is — no origin, the user's own, editable.

Idempotent: once a playlist with that id is the user's, any part of its import — redelivered,
replayed, the whole sequence sent again — changes nothing, and whatever was held for it is let go. An
id that is another user's playlist is never touched (the event is logged and dropped). A file with more
entries than a playlist may hold is refused whole (logged, dropped): nothing of it is saved. Parts of an
import whose last part never comes are never applied; they go a day later, with the user's next part
(storage/imports.py).

A restored backup (usecases/restores.py) is a playlist file that knows more: it takes its parts and its
creation from here (``whole_playlist``, ``create_playlist``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import asyncpg
from loguru import logger
from pydantic import BaseModel

from pm_contracts.library import FileEntry, FilePlaylistImported
from pm_platform.service import Runtime
from pm_playlist.domain.entries import MAX_ENTRIES, Entries
from pm_playlist.domain.history import KeptVersion, first_version
from pm_playlist.domain.imports import file_entries, file_track_record
from pm_playlist.domain.playlists import Playlist, TrackRecord, new_playlist
from pm_playlist.storage.imports import PartsOf, held_parts, let_go
from pm_playlist.storage.playlists import owner_of, touch_playlists_holding
from pm_playlist.storage.tracks import upsert_tracks
from pm_playlist.usecases.changes import Committed, begin_history, now

E = TypeVar("E", bound=BaseModel)

# The source file imports hold their parts under (no provider is named so).
SOURCE = "file"
AUTHOR = "import:file"


async def apply_file_part(conn: asyncpg.Connection, rt: Runtime, event: FilePlaylistImported) -> Committed:
    """Hold this part, or create the playlist once it is the last; nothing when the playlist exists."""
    owner = await owner_of(conn, event.playlist_id)
    if owner is not None:
        if owner != event.user_id:
            logger.warning(
                "file import {} names playlist {}, another user's: dropped", event.job_id, event.playlist_id
            )
        await let_go(conn, event.user_id, SOURCE, str(event.playlist_id))
        return Committed()
    of = PartsOf(event.user_id, SOURCE, str(event.playlist_id), event.job_id)
    entries = await whole_playlist(conn, of, event.part, event.parts, event.entries, FileEntry)
    if entries is None:
        return Committed()
    records = [file_track_record(e.track) for e in entries]
    playlist = new_playlist(
        event.user_id, event.name, now(), len(records), id=event.playlist_id, description=event.description
    )

    def begin(track_ids: list[uuid.UUID]) -> tuple[Entries, list[KeptVersion]]:
        made = file_entries(entries, track_ids, event.read_at, added_by=str(event.user_id))
        return made, [first_version(playlist, made, "import", AUTHOR)]

    return await create_playlist(conn, rt, playlist, records, begin)


async def whole_playlist(
    conn: asyncpg.Connection,
    of: PartsOf,
    part: int,
    parts: int,
    items: list[E],
    model: type[E],
    entries_in: Callable[[list[E]], int] = len,
) -> list[E] | None:
    """Every item of the playlist's parts in order (its entries; a restore holds its parts whole) once
    its last part is here (this one held until then), else None. A playlist of more entries than one may
    hold (``entries_in``: how many the items carry) is None too: dropped whole (logged), its parts let
    go."""
    whole: list[E] | None = items
    if parts > 1:
        whole = await held_parts(conn, of, part, parts, items, model)
    if whole is None:
        return None
    entries = entries_in(whole)
    if entries > MAX_ENTRIES:
        logger.warning(
            "{} {} of job {}: {} entries, more than a playlist holds ({}): dropped",
            of.source,
            of.playlist,
            of.job_id,
            entries,
            MAX_ENTRIES,
        )
        return None
    return whole


async def create_playlist(
    conn: asyncpg.Connection,
    rt: Runtime,
    playlist: Playlist,
    records: list[TrackRecord],
    begin: Callable[[list[uuid.UUID]], tuple[Entries, Iterable[KeptVersion]]],
    *,
    new_track_ids: Mapping[str, uuid.UUID] | None = None,
) -> Committed:
    """Create ``playlist`` whole in the caller's transaction: its tracks written as a file's are
    (``fill``: one the library has keeps its metadata and gains the ids it lacked; a new one takes the id
    ``new_track_ids`` gives it, if any); then ``begin``, given each record's track id in order, makes its
    entries and the versions it begins with, oldest first (usecases/changes.py's ``begin_history``:
    version 1 for a file, a backup's kept versions for a restore); and ``playlist.created``."""
    committed = Committed()
    tracks = await upsert_tracks(conn, playlist.user_id, records, known="fill", new_ids=new_track_ids)
    for playlist_id in await touch_playlists_holding(conn, tracks.changed):  # they gained provider ids
        committed.forget(playlist.user_id, playlist_id)
    entries, versions = begin([tracks.ids[r.identity] for r in records])
    await begin_history(conn, rt, playlist, entries, versions)
    committed.playlist(playlist)
    return committed
