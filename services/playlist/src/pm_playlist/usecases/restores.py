"""A playlist restored from a library backup (the export service's restore, events of
pm.library-imports), made a playlist of the user's library again, with the versions the backup kept.

A backup holds what the library's public answers showed, ids included, and a restore gives them back:
restored into the account it came from after the playlist was deleted, the playlist answers as it did —
its versions and the diffs between them too when the backup kept its history. Its parts are held like a
file's (usecases/file_imports.py's ``whole_playlist``, source 'restore', key the backup's playlist id),
each whole (:class:`HeldPart`: its entries, then its steps of history); on the last one the playlist is
created whole in that event's transaction (``create_playlist``):

- under its own id when no playlist has it, else under one derived from the job and that id
  (domain/imports.py's ``restore_target``);
- with every detail the backup gives (collection, origin, read-only, gone, ``created_at``…);
- its tracks: a ``track_id`` that is one of the user's tracks is that track (it gains the ids and ISRC
  it lacked, as from a file); else the track is found by its description, and a new one takes the
  backup's id when no track has it (``restored_track_records``). The tracks only older versions name
  are written with the current ones (described as the current entries describe them when they name
  them too);
- its entries in the backup's order, with their ids, dates and authors;
- its history. Without one (the backup kept the current version only): version 1 (``restore``, author
  ``restore:backup``, dated now). With one: every kept version's list is rebuilt backwards from the
  current one and checked (domain/imports.py's ``restored_history``); the playlist is at the newest
  kept version, changed last at the backup's ``updated_at``; the oldest kept version is kept whole,
  each later one as the edit from the one before (``restored_versions``), every version's row (kind,
  author, time, counts, details) as the backup gives it, so its history, its diffs and restoring an
  old version answer as they did. Versions before the oldest kept are none (404). A history that does
  not hold together is left out whole (logged): the playlist is restored as without one, never with
  half a history;
- and ``playlist.created`` at its version.

Idempotent: once either id is the user's playlist, any part — redelivered, replayed — changes nothing
and whatever was held is let go. A playlist whose origin the library already holds (imported from its
provider since) is left as it is (logged). Another user's playlist or track is never touched. A playlist
of more entries than one may hold is dropped whole (logged).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg
from loguru import logger
from pydantic import BaseModel, model_validator

from pm_contracts.library import PlaylistRestored, RestoredEntry, RestoredStep
from pm_platform.service import Runtime
from pm_playlist.domain.entries import Entries
from pm_playlist.domain.history import KeptVersion, first_version
from pm_playlist.domain.imports import (
    HistoryRefused,
    RestoredHistory,
    aware,
    derived_playlist_id,
    restore_target,
    restored_entries,
    restored_history,
    restored_track_records,
    restored_versions,
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


class HeldPart(BaseModel):
    """A part as it is held until the last arrives: its entries, and its steps of the history."""

    entries: list[RestoredEntry]
    history: list[RestoredStep]

    @model_validator(mode="before")
    @classmethod
    def _held_before_histories(cls, data: Any) -> Any:
        """A part held before restores carried history was a bare entry: it is a part of that entry."""
        if isinstance(data, dict) and "entry_id" in data:
            return {"entries": [data], "history": []}
        return data


def _entries_held(parts: list[HeldPart]) -> int:
    return sum(len(p.entries) for p in parts)


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
    this = HeldPart(entries=event.entries, history=event.history)
    parts = await whole_playlist(conn, of, event.part, event.parts, [this], HeldPart, _entries_held)
    if parts is None:
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
    entries = [e for p in parts for e in p.entries]
    # The rebuild is pure and may take a second or two: off the event loop.
    history = await asyncio.to_thread(_kept_history, event, entries, [s for p in parts for s in p.history])
    older = history.older_entries if history is not None else ()
    everything = [*entries, *older]
    named = [e.track.track_id for e in everything if e.track.track_id is not None]
    known = await track_keys(conn, named) if named else {}
    records, new_track_ids = restored_track_records(event.user_id, [e.track for e in everything], known)
    at = now()
    playlist = new_playlist(
        event.user_id,
        restored.name,
        at,
        len(entries),
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
    if history is not None:  # at its newest kept version, changed last when the backup says
        newest = history.newest
        playlist = dataclasses.replace(
            playlist, version=newest.version, updated_at=aware(restored.updated_at or newest.created_at)
        )

    def begin(track_ids: list[uuid.UUID]) -> tuple[Entries, Iterable[KeptVersion]]:
        current = restored_entries(entries, track_ids[: len(entries)])
        if history is None:
            return current, [first_version(playlist, current, KIND, AUTHOR)]
        # A checked history's entries have ids of their own: restored_entries keeps every one.
        kept = (*current, *restored_entries(older, track_ids[len(entries) :]))
        return current, restored_versions(history, {e.id: e for e in kept})

    return await create_playlist(conn, rt, playlist, records, begin, new_track_ids=new_track_ids)


def _kept_history(
    event: PlaylistRestored, entries: list[RestoredEntry], steps: list[RestoredStep]
) -> RestoredHistory | None:
    """The history the backup kept, checked; None when it kept none, or one that does not hold together
    (logged: the playlist is restored without it)."""
    if not steps:
        return None
    try:
        return restored_history(event.playlist, entries, steps)
    except HistoryRefused as exc:
        logger.warning(
            "restore {}: playlist {}'s history is left out ({}): restored at version 1",
            event.job_id,
            event.playlist.playlist_id,
            exc,
        )
        return None
