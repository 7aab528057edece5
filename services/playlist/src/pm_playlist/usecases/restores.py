"""A playlist restored from a library backup (the export service's restore, events of
pm.library-imports), made a playlist of the user's library again.

A backup holds what the library's public answer showed, ids included, and a restore gives them back:
restored into the account it came from after the playlist was deleted, the playlist answers as it did
(but its version and ``updated_at``). Its parts are held like a file's (usecases/file_imports.py's
``whole_playlist``, source 'restore', key the backup's playlist id); on the last one the playlist is
created whole in that event's transaction (``create_playlist``):

- under its own id when no playlist has it, else under one derived from the job and that id
  (domain/imports.py's ``restore_target``);
- with every detail the backup gives (collection, origin, read-only, gone, ``created_at``…), version 1
  (``restore``, author ``restore:backup``) and ``playlist.created``;
- its tracks: a ``track_id`` that is one of the user's tracks is that track (it gains the ids and ISRC
  it lacked, as from a file); else the track is found by its description, and a new one takes the
  backup's id when no track has it (``restored_track_records``);
- its entries in the backup's order, with their ids, dates and authors.

Idempotent: once either id is the user's playlist, any part — redelivered, replayed — changes nothing
and whatever was held is let go. A playlist whose origin the library already holds (imported from its
provider since) is left as it is (logged). Another user's playlist or track is never touched. A playlist
of more entries than one may hold is dropped whole (logged).
"""

from __future__ import annotations

import asyncpg
from loguru import logger

from pm_contracts.library import PlaylistRestored, RestoredEntry
from pm_platform.service import Runtime
from pm_playlist.domain.imports import (
    aware,
    derived_playlist_id,
    restore_target,
    restored_entries,
    restored_track_records,
)
from pm_playlist.domain.playlists import new_playlist
from pm_playlist.storage.imports import PartsOf, let_go
from pm_playlist.storage.playlists import find_by_origin, owner_of
from pm_playlist.storage.tracks import track_keys
from pm_playlist.usecases.changes import Committed, now
from pm_playlist.usecases.file_imports import create_playlist, whole_playlist

# The source restores hold their parts under (no provider is named so).
SOURCE = "restore"
KIND = "restore"
AUTHOR = "restore:backup"


async def apply_restored_part(conn: asyncpg.Connection, rt: Runtime, event: PlaylistRestored) -> Committed:
    """Hold this part, or create the playlist once it is the last; nothing when the library has it."""
    restored = event.playlist
    held_as = str(restored.playlist_id)
    candidates = (restored.playlist_id, derived_playlist_id(event.job_id, restored.playlist_id))
    owners = {c: owner for c in candidates if (owner := await owner_of(conn, c)) is not None}
    playlist_id = restore_target(event.user_id, candidates, owners)
    if playlist_id is None:
        if event.user_id not in owners.values():
            logger.warning(
                "restore {}: playlist {} and its derived id are others': dropped", event.job_id, held_as
            )
        await let_go(conn, event.user_id, SOURCE, held_as)
        return Committed()
    of = PartsOf(event.user_id, SOURCE, held_as, event.job_id)
    entries = await whole_playlist(conn, of, event.part, event.parts, event.entries, RestoredEntry)
    if entries is None:
        return Committed()
    origin = restored.origin
    if origin is not None and (
        await find_by_origin(conn, event.user_id, origin.provider.value, origin.playlist_id) is not None
    ):
        logger.info(
            "restore {}: playlist {} is in the library already, from {}: left as it is",
            event.job_id,
            held_as,
            origin.provider.value,
        )
        return Committed()
    named = [e.track.track_id for e in entries if e.track.track_id is not None]
    known = await track_keys(conn, named) if named else {}
    records, new_track_ids = restored_track_records(event.user_id, [e.track for e in entries], known)
    at = now()
    playlist = new_playlist(
        event.user_id,
        restored.name,
        at,
        len(records),
        id=playlist_id,
        collection=restored.collection,
        description=restored.description,
        public=restored.public,
        collaborative=restored.collaborative,
        cover_url=restored.cover_url,
        origin_provider=origin.provider.value if origin is not None else None,
        origin_playlist_id=origin.playlist_id if origin is not None else None,
        origin_owner_id=origin.owner_id if origin is not None else None,
        origin_owner_name=origin.owner_name if origin is not None else None,
        read_only=restored.read_only,
        gone_from_provider=restored.gone_from_provider,
        created_at=aware(restored.created_at),
    )
    return await create_playlist(
        conn,
        rt,
        playlist,
        records,
        lambda ids: restored_entries(entries, ids),
        KIND,
        AUTHOR,
        new_track_ids=new_track_ids,
    )
