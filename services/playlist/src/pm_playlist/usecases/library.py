"""The library's use cases: a user's playlists listed, read, created, edited, versioned, restored.

Each write locks the playlist row, checks ``If-Match`` against its version, computes the edit on the
whole list (domain/), and records it (usecases/changes.py) in one transaction; the cache learns of it
after the commit. An edit the domain refuses changes nothing (422 with the domain's code).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pm_contracts.playlists import PlaylistDeleted
from pm_platform.errors import Problem
from pm_platform.service import Runtime
from pm_playlist.domain import api
from pm_playlist.domain.dedupe import Duplicate, find_duplicates
from pm_playlist.domain.enrichment import Enrichment
from pm_playlist.domain.entries import (
    MAX_ENTRIES_PER_EDIT,
    Batch,
    Edit,
    EditRefused,
    Entries,
    Entry,
    Insert,
    Move,
    Remove,
    Reorder,
    SingleEdit,
)
from pm_playlist.domain.history import Diff, diff, edits_between
from pm_playlist.domain.listing import ListQuery, encode_cursor
from pm_playlist.domain.ordering import SortKey, sorted_order
from pm_playlist.domain.playlists import EntryView, Playlist, TrackRecord, Version, new_playlist
from pm_playlist.storage import cache
from pm_playlist.storage.enrichment import enrichments_of
from pm_playlist.storage.entries import entries_page, load_entries
from pm_playlist.storage.history import list_versions, version_entries
from pm_playlist.storage.playlists import delete_playlist, list_playlists
from pm_playlist.storage.tracks import load_tracks, owned_tracks, upsert_tracks
from pm_playlist.usecases.changes import (
    Committed,
    editing,
    now,
    origin_of,
    record_details,
    record_entries,
    require_playlist,
    start_history,
)


class EditInvalid(Problem):
    status = 422
    title = "The edit cannot apply"


class VersionNotFound(Problem):
    status = 404
    code = "version-not-found"
    title = "No such version"


def _refused(exc: EditRefused) -> EditInvalid:
    return EditInvalid(str(exc), code=exc.code)


# ---------------------------------------------------------------- reads


@dataclass(frozen=True)
class PageAnswer:
    etag: str
    body: bytes | None  # None: the client's copy is current (304)


async def read_page(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    offset: int,
    limit: int,
    client_has: Callable[[str], bool],
) -> PageAnswer:
    """A page of a playlist, from the cache when it holds the current version (storage/cache.py: one
    Redis round trip for a conditional request or a cached page)."""
    if playlist_id is not None:
        etag, body = await cache.cached_page(rt, user_id, playlist_id, offset, limit)
        if etag is not None and client_has(etag):
            return PageAnswer(etag, None)
        if etag is not None and body is not None:
            return PageAnswer(etag, body)
    playlist, entries = await playlist_page(rt, user_id, playlist_id, offset, limit)
    body = api.page_body(playlist, entries, offset, limit)
    await cache.remember_page(rt, user_id, playlist.id, playlist.etag, offset, limit, body)
    return PageAnswer(playlist.etag, None if client_has(playlist.etag) else body)


async def read_list(rt: Runtime, user_id: uuid.UUID, query: ListQuery, canonical: str) -> bytes:
    """A page of the user's playlists, cached under the user's library generation (``canonical``: the
    query as the client wrote it, the cache key)."""
    generation = await cache.library_generation(rt, user_id)
    body = await cache.cached_list(rt, user_id, generation, canonical) if generation is not None else None
    if body is not None:
        return body
    rows = await list_page(rt, user_id, query)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(query.sort, rows[-1][1], rows[-1][0].id) if more and rows else None
    body = json.dumps(
        {"playlists": [api.playlist_view(p) for p, _ in rows], "next_cursor": cursor}, separators=(",", ":")
    ).encode()
    if generation is not None:
        await cache.remember_list(rt, user_id, generation, canonical, body)
    return body


async def list_page(rt: Runtime, user_id: uuid.UUID, query: ListQuery) -> list[tuple[Playlist, str]]:
    async with rt.pool.acquire() as conn:
        return await list_playlists(conn, user_id, query)


async def playlist_page(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, offset: int, limit: int
) -> tuple[Playlist, list[EntryView]]:
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        playlist = await require_playlist(conn, user_id, playlist_id)
        return playlist, await entries_page(conn, playlist.id, offset, limit)


async def playlist_state(rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None) -> Playlist:
    async with rt.pool.acquire() as conn:
        return await require_playlist(conn, user_id, playlist_id)


async def versions(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, before: int | None, limit: int
) -> tuple[Playlist, list[Version], bool]:
    """A page of the playlist's versions, newest first, and whether older ones follow (a restored
    playlist's oldest kept version need not be 1)."""
    async with rt.pool.acquire() as conn:
        playlist = await require_playlist(conn, user_id, playlist_id)
        found = await list_versions(conn, playlist.id, before, limit + 1)
        return playlist, found[:limit], len(found) > limit


async def _version(conn: Any, playlist: Playlist, version: int) -> Entries:
    """Version ``version``'s entries; 404 beyond the playlist's version, and before the oldest it keeps
    (a playlist restored from a backup keeps only the versions the backup kept)."""
    entries = await version_entries(conn, playlist.id, version) if 1 <= version <= playlist.version else None
    if entries is None:
        raise VersionNotFound(
            f"the playlist keeps no version {version} (it is at version {playlist.version})"
        )
    return entries


@dataclass(frozen=True)
class VersionDiff:
    playlist: Playlist
    changes: Diff
    tracks: dict[uuid.UUID, Any]
    enrichments: dict[uuid.UUID, Enrichment]


async def version_diff(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, older: int, newer: int
) -> VersionDiff:
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        playlist = await require_playlist(conn, user_id, playlist_id)
        changes = diff(await _version(conn, playlist, older), await _version(conn, playlist, newer))
        named = [e.track_id for _, e in changes.added + changes.removed] + [
            m.entry.track_id for m in changes.moved
        ]
        return VersionDiff(
            playlist, changes, await load_tracks(conn, named), await enrichments_of(conn, named)
        )


# ---------------------------------------------------------------- creating and deleting


@dataclass(frozen=True)
class NewPlaylist:
    name: str
    description: str | None = None
    public: bool | None = None
    collaborative: bool | None = None


async def create_playlist(
    rt: Runtime, user_id: uuid.UUID, details: NewPlaylist, tracks: list[TrackRef]
) -> Playlist:
    at = now()
    committed = Committed()
    async with rt.transaction() as conn:
        track_ids = await resolve_tracks(conn, user_id, tracks)
        entries = tuple(Entry(uuid.uuid4(), t, at, str(user_id)) for t in track_ids)
        playlist = new_playlist(
            user_id,
            details.name,
            at,
            len(entries),
            description=details.description,
            public=details.public,
            collaborative=details.collaborative,
        )
        await start_history(conn, rt, playlist, entries, "created", str(user_id))
        committed.playlist(playlist)
    await committed.tell_cache(rt)
    return playlist


async def remove_playlist(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, if_match: str | None
) -> None:
    async with editing(rt, user_id, playlist_id, if_match, read_only_too=True) as ed:
        await delete_playlist(ed.conn, ed.playlist.id)
        await rt.emit(
            ed.conn,
            "playlist.deleted",
            str(ed.playlist.id),
            PlaylistDeleted(
                playlist_id=ed.playlist.id, user_id=user_id, origin=origin_of(ed.playlist), deleted_at=now()
            ),
        )
        ed.changed(ed.playlist, deleted=True)


async def change_details(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    changes: dict[str, Any],
    if_match: str | None,
) -> Playlist:
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        ed.changed(await record_details(ed.conn, rt, ed.playlist, changes, str(user_id)))
    return ed.playlist


# ---------------------------------------------------------------- editing entries


@dataclass(frozen=True)
class TrackRef:
    """A track to add: one of the user's library tracks by id, or a description (a new library track)."""

    track_id: uuid.UUID | None = None
    record: TrackRecord | None = None


async def resolve_tracks(conn: Any, user_id: uuid.UUID, refs: list[TrackRef]) -> list[uuid.UUID]:
    """The library track id of each ref, in order; an id that is not one of the user's tracks is a 422
    (never a hint that it is someone else's)."""
    named = [r.track_id for r in refs if r.track_id is not None]
    owned = await owned_tracks(conn, user_id, named) if named else set()
    if len(owned) != len(set(named)):
        raise EditInvalid(
            f"{len(set(named)) - len(owned)} track id(s) are not in your library", code="unknown-track"
        )
    # A user's description of a track the library knows changes nothing of it: it is that track.
    described = await upsert_tracks(
        conn, user_id, [r.record for r in refs if r.record is not None], known="keep"
    )
    return [r.track_id if r.track_id is not None else described.ids[r.record.identity] for r in refs]  # type: ignore[union-attr]  # one of the two is set


# What an edit endpoint asks for: given the entries and their tracks' ids resolved, the edit to apply and
# the entries it makes (applied once: a batch computes them step by step anyway), or None for no change.
EditPlan = Callable[[Entries, list[uuid.UUID]], tuple[Edit, Entries] | None]


def applied(edit: Edit, current: Entries) -> tuple[Edit, Entries]:
    return edit, edit.apply(current)


async def edit_entries(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    if_match: str | None,
    kind: str,
    plan: EditPlan,
    tracks: list[TrackRef] | None = None,
    *,
    author: str | None = None,
) -> tuple[Playlist, Edit | None]:
    """Apply the edit ``plan`` makes; None from the plan: nothing to change (no version is made). The
    version's author is ``author``, else the user (another service's write names itself)."""
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        track_ids = await resolve_tracks(ed.conn, user_id, tracks or [])
        stored = await load_entries(ed.conn, ed.playlist.id)
        try:
            planned = plan(stored.entries, track_ids)
            if planned is None:
                return ed.playlist, None
            edit, new = planned
        except EditRefused as exc:
            raise _refused(exc) from None
        made_by = author if author is not None else str(user_id)
        ed.changed(await record_entries(ed.conn, rt, ed.playlist, stored, new, edit, kind, made_by))
    return ed.playlist, edit


def new_entries(track_ids: list[uuid.UUID], author: uuid.UUID) -> Entries:
    at = now()
    return tuple(Entry(uuid.uuid4(), t, at, str(author)) for t in track_ids)


def insert_plan(position: int | None, author: uuid.UUID) -> EditPlan:
    def plan(current: Entries, track_ids: list[uuid.UUID]) -> tuple[Edit, Entries]:
        return applied(
            Insert(len(current) if position is None else position, new_entries(track_ids, author)), current
        )

    return plan


async def dedupe(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, if_match: str | None, dry_run: bool
) -> tuple[Playlist, list[Duplicate]]:
    """The duplicates found (and removed unless ``dry_run``), each with the rule that matched."""

    async def load(conn: Any, current: Entries) -> list[Duplicate]:
        tracks = await load_tracks(conn, [e.track_id for e in current])
        return find_duplicates([(e, tracks[e.track_id]) for e in current])

    if dry_run:
        async with rt.pool.acquire() as conn:
            playlist = await require_playlist(conn, user_id, playlist_id)
            return playlist, await load(conn, (await load_entries(conn, playlist.id)).entries)
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        stored = await load_entries(ed.conn, ed.playlist.id)
        found = await load(ed.conn, stored.entries)
        if found:
            edit = Remove(tuple(d.entry_id for d in found))
            new = edit.apply(stored.entries)
            ed.changed(
                await record_entries(ed.conn, rt, ed.playlist, stored, new, edit, "remove", str(user_id))
            )
    return ed.playlist, found


async def sort(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    if_match: str | None,
    by: SortKey,
    descending: bool,
) -> Playlist:
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        stored = await load_entries(ed.conn, ed.playlist.id)
        current = stored.entries
        tracks = await load_tracks(ed.conn, [e.track_id for e in current])
        order = sorted_order([(e, tracks[e.track_id]) for e in current], by, descending)
        if order.entry_ids != tuple(e.id for e in current):
            new = order.apply(current)
            ed.changed(
                await record_entries(ed.conn, rt, ed.playlist, stored, new, order, "reorder", str(user_id))
            )
    return ed.playlist


def reorder_plan(entry_ids: list[uuid.UUID]) -> EditPlan:
    def plan(current: Entries, _: list[uuid.UUID]) -> tuple[Edit, Entries] | None:
        if tuple(entry_ids) == tuple(e.id for e in current):
            return None
        return applied(Reorder(tuple(entry_ids)), current)

    return plan


# One edit of a batch: given the entries as the edits before it left them and the batch's resolved
# tracks (an add takes its own from the front), the edit.
BatchStep = Callable[[Entries, Iterator[uuid.UUID]], SingleEdit]


def batch_plan(steps: list[BatchStep]) -> EditPlan:
    """Several edits as one version, all or none: each step sees the entries the steps before it left."""

    def plan(current: Entries, track_ids: list[uuid.UUID]) -> tuple[Edit, Entries]:
        tracks = iter(track_ids)
        edits: list[SingleEdit] = []
        for step in steps:
            edit = step(current, tracks)
            current = edit.apply(current)
            edits.append(edit)
        batch = Batch(tuple(edits))
        if batch.size > MAX_ENTRIES_PER_EDIT:  # what Batch.apply would refuse, had it been applied again
            raise EditRefused("edit-too-large", f"one edit may name at most {MAX_ENTRIES_PER_EDIT} entries")
        return batch, current

    return plan


async def merge(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    source_id: uuid.UUID | None,
    if_match: str | None,
    skip_present: bool,
) -> Playlist:
    """Append the entries of another of the user's playlists (their tracks; new entries). With
    ``skip_present``, tracks already in the playlist (or twice in the source) are added once."""
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        source = await require_playlist(ed.conn, user_id, source_id)
        if source.id == ed.playlist.id:
            raise EditInvalid("a playlist cannot be merged into itself", code="same-playlist")
        stored = await load_entries(ed.conn, ed.playlist.id)
        current = stored.entries
        incoming = [e.track_id for e in (await load_entries(ed.conn, source.id)).entries]
        if skip_present:
            seen = {e.track_id for e in current}
            once: list[uuid.UUID] = []
            for track_id in incoming:
                if track_id not in seen:
                    seen.add(track_id)
                    once.append(track_id)
            incoming = once
        if incoming:
            try:
                edit = Insert(len(current), new_entries(incoming, user_id))
                new = edit.apply(current)
            except EditRefused as exc:
                raise _refused(exc) from None
            ed.changed(
                await record_entries(ed.conn, rt, ed.playlist, stored, new, edit, "insert", str(user_id))
            )
    return ed.playlist


async def restore(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None, version: int, if_match: str | None
) -> Playlist:
    """Make version ``version``'s entries current again: a new version (nothing is rewritten)."""
    async with editing(rt, user_id, playlist_id, if_match) as ed:
        older = await _version(ed.conn, ed.playlist, version)
        stored = await load_entries(ed.conn, ed.playlist.id)
        edit = edits_between(stored.entries, older)
        if edit is not None:
            ed.changed(
                await record_entries(ed.conn, rt, ed.playlist, stored, older, edit, "restore", str(user_id))
            )
    return ed.playlist


def move_plan(entry_ids: list[uuid.UUID], to: int) -> EditPlan:
    def plan(current: Entries, _: list[uuid.UUID]) -> tuple[Edit, Entries]:
        return applied(Move(tuple(entry_ids), to), current)

    return plan


def remove_plan(entry_ids: list[uuid.UUID]) -> EditPlan:
    def plan(current: Entries, _: list[uuid.UUID]) -> tuple[Edit, Entries]:
        return applied(Remove(tuple(entry_ids)), current)

    return plan
