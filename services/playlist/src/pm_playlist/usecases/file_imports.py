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
"""

from __future__ import annotations

import asyncpg
from loguru import logger

from pm_contracts.library import FileEntry, FilePlaylistImported
from pm_platform.service import Runtime
from pm_playlist.domain.entries import MAX_ENTRIES
from pm_playlist.domain.imports import file_entries, file_track_record
from pm_playlist.domain.playlists import new_playlist
from pm_playlist.storage.imports import PartsOf, held_parts, let_go
from pm_playlist.storage.playlists import owner_of, touch_playlists_holding
from pm_playlist.storage.tracks import upsert_tracks
from pm_playlist.usecases.changes import Committed, now, start_history

# The source file imports hold their parts under (no provider is named so).
SOURCE = "file"
AUTHOR = "import:file"


async def apply_file_part(conn: asyncpg.Connection, rt: Runtime, event: FilePlaylistImported) -> Committed:
    """Hold this part, or create the playlist once it is the last; nothing when the playlist exists."""
    committed = Committed()
    owner = await owner_of(conn, event.playlist_id)
    if owner is not None:
        if owner != event.user_id:
            logger.warning(
                "file import {} names playlist {}, another user's: dropped", event.job_id, event.playlist_id
            )
        await let_go(conn, event.user_id, SOURCE, str(event.playlist_id))
        return committed
    entries: list[FileEntry] | None = event.entries
    if event.parts > 1:
        of = PartsOf(event.user_id, SOURCE, str(event.playlist_id), event.job_id)
        entries = await held_parts(conn, of, event.part, event.parts, event.entries, FileEntry)
    if entries is None:
        return committed
    if len(entries) > MAX_ENTRIES:
        logger.warning(
            "file import {}: {} entries, more than a playlist holds ({}): dropped",
            event.job_id,
            len(entries),
            MAX_ENTRIES,
        )
        return committed
    records = [file_track_record(e.track) for e in entries]
    tracks = await upsert_tracks(conn, event.user_id, records, known="fill")
    for playlist_id in await touch_playlists_holding(conn, tracks.changed):  # they gained provider ids
        committed.forget(event.user_id, playlist_id)
    new = file_entries(
        entries, [tracks.ids[r.identity] for r in records], event.read_at, added_by=str(event.user_id)
    )
    playlist = new_playlist(
        event.user_id, event.name, now(), len(new), id=event.playlist_id, description=event.description
    )
    await start_history(conn, rt, playlist, new, "import", AUTHOR)
    committed.playlist(playlist)
    return committed
