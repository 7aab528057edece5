"""How any change of a playlist is recorded, whoever makes it (a creation, an edit through the API, an
import, a restore): a new version in the history, the rows that differ, the playlist's counters, and the
event — all in the caller's transaction. The cache learns of it after the commit (``Committed``)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from pm_contracts.playlists import PlaylistCreated, PlaylistEntriesChanged, PlaylistOrigin, PlaylistUpdated
from pm_platform.errors import Conflict, NotFound, Problem
from pm_platform.service import Runtime
from pm_playlist.domain.entries import Edit, Entries
from pm_playlist.domain.history import KeptVersion, first_version, known_moves, needs_snapshot, steps_of
from pm_playlist.domain.playlists import Playlist, Version
from pm_playlist.storage import cache
from pm_playlist.storage.entries import NONE_STORED, StoredEntries, write_changes
from pm_playlist.storage.history import add_snapshot, add_version, add_versions, sizes_since_snapshot
from pm_playlist.storage.playlists import get_playlist, insert_playlist, save_playlist


class PlaylistNotFound(NotFound):
    code = "playlist-not-found"
    title = "No such playlist"


class ReadOnlyPlaylist(Conflict):
    code = "read-only-playlist"
    title = "The playlist is read-only"


class PreconditionFailed(Problem):
    status = 412
    code = "precondition-failed"
    title = "The playlist changed since you read it"


class PreconditionRequired(Problem):
    status = 428
    code = "precondition-required"
    title = "Name the version you read in If-Match"


@dataclass
class Committed:
    """What the cache must learn once the transaction commits: new ETags (None: deleted), per user."""

    states: dict[uuid.UUID, dict[uuid.UUID, str | None]] = field(default_factory=dict)

    def playlist(self, playlist: Playlist, deleted: bool = False) -> None:
        self.states.setdefault(playlist.user_id, {})[playlist.id] = None if deleted else playlist.etag

    def forget(self, user_id: uuid.UUID, playlist_id: uuid.UUID) -> None:
        """The playlist's ETag moved without a new version (its tracks' metadata changed): the cache
        drops what it holds and the next read takes it from the database."""
        self.states.setdefault(user_id, {})[playlist_id] = None

    async def tell_cache(self, rt: Runtime) -> None:
        for user_id, states in self.states.items():
            await cache.playlists_changed(rt, user_id, states)


@dataclass
class Editing:
    """One write of a playlist in progress: its transaction, the playlist as locked (then as changed), and
    what the cache will learn once it commits."""

    conn: asyncpg.Connection
    playlist: Playlist
    committed: Committed

    def changed(self, playlist: Playlist, deleted: bool = False) -> None:
        self.playlist = playlist
        self.committed.playlist(playlist, deleted)


@asynccontextmanager
async def editing(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    if_match: str | None,
    *,
    read_only_too: bool = False,
) -> AsyncIterator[Editing]:
    """Every write's start and end: the user's playlist locked (404 otherwise), ``If-Match`` checked (412),
    a followed playlist refused (409; ``read_only_too``: not, e.g. to delete it); once the transaction has
    committed, the cache is told. An error inside changes nothing and tells nothing."""
    committed = Committed()
    async with rt.transaction() as conn:
        playlist = await require_playlist(conn, user_id, playlist_id, lock=True)
        check_if_match(playlist, if_match)
        if not read_only_too:
            refuse_read_only(playlist)
        yield Editing(conn, playlist, committed)
    await committed.tell_cache(rt)


def now() -> datetime:
    return datetime.now(UTC)


def origin_of(playlist: Playlist) -> PlaylistOrigin | None:
    if playlist.origin_provider is None or playlist.origin_playlist_id is None:
        return None
    return PlaylistOrigin(provider=playlist.origin_provider, provider_playlist_id=playlist.origin_playlist_id)


async def require_playlist(
    conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: uuid.UUID | None, *, lock: bool = False
) -> Playlist:
    """The user's playlist, or 404 — the same for another user's as for one that never existed."""
    playlist = await get_playlist(conn, user_id, playlist_id, lock=lock) if playlist_id is not None else None
    if playlist is None:
        raise PlaylistNotFound("no such playlist")
    return playlist


def check_if_match(playlist: Playlist, if_match: str | None) -> None:
    """A write with ``If-Match`` applies only to the version it names (412 otherwise). The ETag's second
    part (its tracks' metadata revision) does not make a write stale: the write changes no track."""
    if if_match is None:
        return
    for tag in (t.strip() for t in if_match.split(",")):
        # Strong comparison (RFC 9110): a weak tag never matches a write's precondition.
        if tag == "*" or (not tag.startswith("W/") and tag.strip('"').split(".")[0] == str(playlist.version)):
            return
    raise PreconditionFailed(
        f"the playlist is at version {playlist.version}; read it again and retry",
        headers={"ETag": playlist.etag},
    )


def refuse_read_only(playlist: Playlist) -> None:
    if playlist.read_only:
        raise ReadOnlyPlaylist(
            "you follow this playlist on its provider without owning it: copy it to edit it",
        )


async def start_history(
    conn: asyncpg.Connection, rt: Runtime, playlist: Playlist, entries: Entries, kind: str, author: str | None
) -> None:
    """A new playlist: its row, its entries, version 1 kept whole (domain/history.py's
    ``first_version``), and ``playlist.created``."""
    await begin_history(conn, rt, playlist, entries, [first_version(playlist, entries, kind, author)])


async def begin_history(
    conn: asyncpg.Connection,
    rt: Runtime,
    playlist: Playlist,
    entries: Entries,
    versions: Iterable[KeptVersion],
) -> None:
    """A new playlist with the versions it begins with, oldest first (the first kept whole: a new
    playlist's version 1, or the oldest version a restored backup kept): its row, its entries (the last
    version's), every version with the snapshots kept, and ``playlist.created`` at ``playlist.version``."""
    await insert_playlist(conn, playlist)
    await write_changes(conn, playlist.id, NONE_STORED, entries)
    rows: list[tuple[Version, Edit | None]] = []
    for kept in versions:
        rows.append((kept.version, kept.edit))
        if kept.snapshot is not None:
            await add_snapshot(conn, playlist.id, kept.version.version, kept.snapshot)
    await add_versions(conn, playlist.id, rows)
    await rt.emit(
        conn,
        "playlist.created",
        str(playlist.id),
        PlaylistCreated(
            playlist_id=playlist.id,
            user_id=playlist.user_id,
            name=playlist.name,
            collection=playlist.collection,
            origin=origin_of(playlist),
            version=playlist.version,
            entries=len(entries),
            created_at=playlist.created_at,
        ),
    )


async def record_entries(
    conn: asyncpg.Connection,
    rt: Runtime,
    playlist: Playlist,
    current: StoredEntries,
    new: Entries,
    edit: Edit,
    kind: str,
    author: str | None,
) -> Playlist:
    """Version ``playlist.version + 1``: ``edit`` turned ``current`` into ``new``."""
    at = now()
    version = playlist.version + 1
    changes = await write_changes(conn, playlist.id, current, new, known_moves(edit))
    sizes = await sizes_since_snapshot(conn, playlist.id)
    await add_version(
        conn,
        playlist.id,
        Version(
            version,
            kind,
            author,
            at,
            changes.added,
            changes.removed,
            changes.moved,
            len(new),
            None,
        ),
        edit,
    )
    if needs_snapshot(version, edit.size, steps_of(edit), sizes, len(new)):
        await add_snapshot(conn, playlist.id, version, new)
    playlist = dataclasses.replace(playlist, version=version, entry_count=len(new), updated_at=at)
    await save_playlist(conn, playlist)
    await rt.emit(
        conn,
        "playlist.entries_changed",
        str(playlist.id),
        PlaylistEntriesChanged(
            playlist_id=playlist.id,
            user_id=playlist.user_id,
            version=version,
            change=kind,
            added=changes.added,
            removed=changes.removed,
            moved=changes.moved,
            entries=len(new),
            changed_at=at,
        ),
    )
    return playlist


async def record_details(
    conn: asyncpg.Connection,
    rt: Runtime,
    playlist: Playlist,
    changes: dict[str, Any],
    author: str | None,
) -> Playlist:
    """Version ``playlist.version + 1``: the details in ``changes`` (only those that differ) changed.
    Nothing is recorded when none differs."""
    changed = {k: v for k, v in changes.items() if getattr(playlist, k) != v}
    if not changed:
        return playlist
    at = now()
    version = playlist.version + 1
    playlist = dataclasses.replace(playlist, **changed, version=version, updated_at=at)
    await add_version(
        conn,
        playlist.id,
        Version(version, "details", author, at, 0, 0, 0, playlist.entry_count, changed),
        None,
    )
    await save_playlist(conn, playlist)
    await rt.emit(
        conn,
        "playlist.updated",
        str(playlist.id),
        PlaylistUpdated(
            playlist_id=playlist.id,
            user_id=playlist.user_id,
            name=playlist.name,
            description=playlist.description,
            public=playlist.public,
            collaborative=playlist.collaborative,
            gone_from_provider=playlist.gone_from_provider,
            version=version,
            updated_at=at,
        ),
    )
    return playlist
