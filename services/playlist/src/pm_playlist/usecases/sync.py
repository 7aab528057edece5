"""Provider-sync's writes to the library (the internal routes): the tracks it read from a provider, and a
library playlist made exactly the list at the other end of a sync link.

Both are idempotent. Writing the same tracks again answers the same ids and changes nothing; writing the
same list again makes no version and no event. A list written keeps the entries that stay (their ids
and dates), as a re-import does, so the version it makes (of kind ``sync``) names only what changed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pm_platform.service import Runtime
from pm_playlist.domain.entries import MAX_ENTRIES, Edit, Entries
from pm_playlist.domain.history import edits_between
from pm_playlist.domain.imports import synced_entries
from pm_playlist.domain.playlists import Playlist, TrackRecord
from pm_playlist.storage.playlists import touch_playlists_holding
from pm_playlist.storage.tracks import upsert_tracks
from pm_playlist.usecases.changes import Committed, PreconditionRequired, now
from pm_playlist.usecases.library import EditInvalid, EditPlan, TrackRef, edit_entries

KIND = "sync"


async def write_tracks(rt: Runtime, user_id: uuid.UUID, records: list[TrackRecord]) -> list[uuid.UUID]:
    """The library track id of each record, in order (a track named twice: its id twice). New tracks
    are added; known ones take the newer metadata as a provider import's do (``known="refresh"``: sync
    reads the same provider descriptions an import reads, so the two agree on a track rather than undo
    each other); the playlists holding a track whose metadata changed get a new ETag, and the cache
    forgets them once committed."""
    committed = Committed()
    async with rt.transaction() as conn:
        tracks = await upsert_tracks(conn, user_id, records, known="refresh")
        for playlist_id in await touch_playlists_holding(conn, tracks.changed):
            committed.forget(user_id, playlist_id)
    await committed.tell_cache(rt)
    return [tracks.ids[r.identity] for r in records]


def sync_plan(at: datetime) -> EditPlan:
    """The edit making the entries exactly the resolved tracks in their order (None: they are already);
    EditRefused (playlist-too-large) beyond MAX_ENTRIES."""

    def plan(current: Entries, track_ids: list[uuid.UUID]) -> tuple[Edit, Entries] | None:
        new = synced_entries(current, track_ids, at)
        edit = edits_between(current, new)
        return None if edit is None else (edit, new)

    return plan


async def write_entries(
    rt: Runtime,
    user_id: uuid.UUID,
    playlist_id: uuid.UUID | None,
    if_match: str | None,
    track_ids: list[uuid.UUID],
    author: str,
) -> Playlist:
    """Make the user's playlist exactly ``track_ids`` in that order, as an edit of the library does (the
    row locked, ``If-Match`` checked, a followed playlist refused, the cache told after the commit): one
    version of kind ``sync`` by ``author`` and its ``playlist.entries_changed``, or nothing when the list
    is that already. ``If-Match`` naming a version is required (428; ``*`` too): a sync overwrites the
    whole list, so it must only overwrite the version it read. Every id must be one of the user's tracks (422 unknown-track)."""
    if if_match is None or "*" in (t.strip() for t in if_match.split(",")):
        raise PreconditionRequired("send the playlist's ETag in If-Match: a sync writes the list it read")
    if len(track_ids) > MAX_ENTRIES:  # refused before the row is locked and the ids looked up
        raise EditInvalid(f"a playlist holds at most {MAX_ENTRIES} entries", code="playlist-too-large")
    refs = [TrackRef(track_id=t) for t in track_ids]
    playlist, _ = await edit_entries(
        rt, user_id, playlist_id, if_match, KIND, sync_plan(now()), refs, author=author
    )
    return playlist
