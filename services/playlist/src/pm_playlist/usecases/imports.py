"""What provider-sync read from a provider, applied to the library (events of pm.library-imports).

Applying is idempotent: a part is held under (user, provider, playlist, job, part) until the last part
arrives; the playlist is then made the provider's list by the edits between the two (entries that stay
keep their ids), so a replayed batch, or a re-import of what the library already holds, makes no version
and no event. A playlist the user follows without owning it is kept read-only; a playlist the provider no
longer lists is marked gone from it, never deleted. A playlist first seen without its entries (a
provider that does not give the tracks of a playlist the user only follows: Spotify) is created empty.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import asyncpg
from loguru import logger

from pm_contracts.library import ImportedEntry, ImportedPlaylist, LibraryImportFinished, PlaylistImported
from pm_platform.service import Runtime
from pm_playlist.domain.entries import MAX_ENTRIES, Entry
from pm_playlist.domain.history import edits_between
from pm_playlist.domain.imports import IncomingEntry, reconcile, track_record
from pm_playlist.domain.playlists import Playlist, new_playlist
from pm_playlist.storage.entries import load_entries
from pm_playlist.storage.imports import PartsOf, held_parts
from pm_playlist.storage.playlists import (
    find_by_origin,
    not_listed_any_more,
    save_playlist,
    touch_playlists_holding,
)
from pm_playlist.storage.tracks import upsert_tracks
from pm_playlist.usecases.changes import Committed, now, record_details, record_entries, start_history


def _details(imported: ImportedPlaylist) -> dict[str, Any]:
    return {
        "name": imported.name,
        "description": imported.description,
        "public": imported.public,
        "collaborative": imported.collaborative,
        "cover_url": imported.cover_url,
        "read_only": imported.read_only,
        "gone_from_provider": False,
    }


def _stale(playlist: Playlist | None, event: PlaylistImported) -> bool:
    """An import older than the one the playlist shows (a replay, a dead letter sent again): ignored, or
    the library would go back to an older list than the provider's."""
    if playlist is None or playlist.imported_at is None or event.read_at >= playlist.imported_at:
        return False
    logger.info("an import of {} read before the one applied is ignored", event.playlist.provider_playlist_id)
    return True


async def apply_part(conn: asyncpg.Connection, rt: Runtime, event: PlaylistImported) -> Committed:
    committed = Committed()
    provider = event.provider.value
    imported = event.playlist
    author = f"import:{provider}"
    if event.entries is None:  # only the details changed on the provider
        playlist = await find_by_origin(conn, event.user_id, provider, imported.provider_playlist_id)
        if playlist is None:  # a playlist the provider lists without its tracks (Spotify: followed ones)
            await _create(conn, rt, event, [], committed)
            return committed
        if _stale(playlist, event):
            return committed
        playlist = await record_details(conn, rt, playlist, _details(imported), author)
        playlist = dataclasses.replace(
            playlist, change_marker=imported.change_marker, imported_at=event.read_at
        )
        await save_playlist(conn, playlist)
        committed.playlist(playlist)
        return committed
    if event.parts > 1:
        of = PartsOf(event.user_id, provider, imported.provider_playlist_id, event.job_id)
        entries = await held_parts(conn, of, event.part, event.parts, event.entries, ImportedEntry)
    else:
        entries = event.entries
    if entries is None:
        return committed
    # The playlist first, then its tracks: the order every edit takes its locks in.
    playlist = await find_by_origin(conn, event.user_id, provider, imported.provider_playlist_id)
    if _stale(playlist, event):
        return committed
    entries = entries[:MAX_ENTRIES]
    records = [track_record(provider, e.track) for e in entries]
    tracks = await upsert_tracks(conn, event.user_id, records)
    for playlist_id in await touch_playlists_holding(conn, tracks.changed):
        committed.forget(event.user_id, playlist_id)
    incoming = [
        IncomingEntry(tracks.ids[r.identity], e.added_at or event.read_at, e.added_by)
        for r, e in zip(records, entries, strict=True)
    ]
    if playlist is None:
        await _create(conn, rt, event, incoming, committed)
        return committed
    stored = await load_entries(conn, playlist.id)
    new = reconcile(stored.entries, incoming)
    edit = edits_between(stored.entries, new)
    if edit is not None:
        playlist = await record_entries(conn, rt, playlist, stored, new, edit, "import", author)
    playlist = await record_details(conn, rt, playlist, _details(imported), author)
    playlist = dataclasses.replace(
        playlist,
        change_marker=imported.change_marker,
        imported_at=event.read_at,
        origin_owner_id=imported.owner_id,
        origin_owner_name=imported.owner_name,
    )
    await save_playlist(conn, playlist)
    committed.playlist(playlist)
    return committed


async def _create(
    conn: asyncpg.Connection,
    rt: Runtime,
    event: PlaylistImported,
    incoming: list[IncomingEntry],
    committed: Committed,
) -> None:
    imported = event.playlist
    entries = tuple(Entry(uuid.uuid4(), e.track_id, e.added_at, e.added_by) for e in incoming)
    playlist = new_playlist(
        event.user_id,
        imported.name,
        now(),
        len(entries),
        collection=imported.collection,
        description=imported.description,
        public=imported.public,
        collaborative=imported.collaborative,
        cover_url=imported.cover_url,
        origin_provider=event.provider.value,
        origin_playlist_id=imported.provider_playlist_id,
        origin_owner_id=imported.owner_id,
        origin_owner_name=imported.owner_name,
        change_marker=imported.change_marker,
        imported_at=event.read_at,
        read_only=imported.read_only,
    )
    await start_history(conn, rt, playlist, entries, "import", f"import:{event.provider.value}")
    committed.playlist(playlist)


async def apply_finished(conn: asyncpg.Connection, rt: Runtime, event: LibraryImportFinished) -> Committed:
    """The provider listed every playlist: the library's others from it are gone from it (kept)."""
    committed = Committed()
    gone = await not_listed_any_more(conn, event.user_id, event.provider.value, event.provider_playlist_ids)
    for playlist in gone:
        playlist = await record_details(
            conn, rt, playlist, {"gone_from_provider": True}, f"import:{event.provider.value}"
        )
        committed.playlist(playlist)
    return committed
