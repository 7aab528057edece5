"""The library API's request bodies and resources (pure), as proto/openapi.yaml describes them.

Bodies are closed, strict, and bounded so that an absurd request is a 413 or a 422 before any work (a
10 MB name, 100,000 entries in one edit). Resources: Playlist, PlaylistPage, Entry, Version, the diff
between two versions, a duplicate found. Also the bodies of provider-sync's internal writes, which the
public document does not describe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from pm_contracts.library import MAX_ARTISTS, MAX_DESCRIPTION, MAX_ID, MAX_NAME, MediaKind
from pm_platform.api import LenientDate, LenientId, LenientProvider, RequestBody, iso
from pm_playlist.domain.dedupe import Duplicate
from pm_playlist.domain.enrichment import Enrichment, enrichment_view
from pm_playlist.domain.entries import MAX_ENTRIES_PER_EDIT, Entry
from pm_playlist.domain.ordering import SortKey
from pm_playlist.domain.playlists import EntryView, Playlist, Version
from pm_playlist.domain.tracks import Track

Id = LenientId
Day = LenientDate
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
EntryIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_ENTRIES_PER_EDIT)]


class TrackIn(RequestBody):
    """A track to add: ``track_id`` (one of your library's tracks) or a description of a new one."""

    track_id: Id | None = None
    title: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    artists: Annotated[list[Annotated[str, Field(max_length=MAX_NAME)]], Field(max_length=MAX_ARTISTS)] = []
    album: Annotated[str, Field(max_length=MAX_NAME)] | None = None
    duration_ms: Annotated[int, Field(ge=0, le=24 * 3600 * 1000)] | None = None
    isrc: Annotated[str, Field(max_length=32)] | None = None
    explicit: bool | None = None
    release_date: Day | None = None
    provider: LenientProvider | None = None
    provider_track_id: Annotated[str, Field(min_length=1, max_length=MAX_ID)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> TrackIn:
        if (self.track_id is None) == (self.title is None):
            raise ValueError("give either track_id or a title (and the rest of the description)")
        if (self.provider is None) != (self.provider_track_id is None):
            raise ValueError("provider and provider_track_id go together")
        return self


Tracks = Annotated[list[TrackIn], Field(min_length=1, max_length=MAX_ENTRIES_PER_EDIT)]


class CreatePlaylist(RequestBody):
    name: Name
    description: Description | None = None
    public: bool | None = None
    collaborative: bool | None = None
    tracks: Annotated[list[TrackIn], Field(max_length=MAX_ENTRIES_PER_EDIT)] = []


class ChangeDetails(RequestBody):
    name: Name | None = None
    description: Description | None = None
    public: bool | None = None
    collaborative: bool | None = None


class AddEntries(RequestBody):
    tracks: Tracks
    position: Annotated[int, Field(ge=0)] | None = None  # None: at the end


class RemoveEntries(RequestBody):
    entry_ids: EntryIds


class MoveEntries(RequestBody):
    entry_ids: EntryIds
    to: Annotated[int, Field(ge=0)]


class AddStep(AddEntries):
    op: Literal["add"]


class RemoveStep(RemoveEntries):
    op: Literal["remove"]


class MoveStep(MoveEntries):
    op: Literal["move"]


Step = Annotated[AddStep | RemoveStep | MoveStep, Field(discriminator="op")]
MAX_BATCH_STEPS = 20


class BatchEdit(RequestBody):
    # Each edit of a batch costs a pass over the whole list (and again when a version is replayed).
    edits: Annotated[list[Step], Field(min_length=1, max_length=MAX_BATCH_STEPS)]


class Dedupe(RequestBody):
    dry_run: bool = False


class Sort(RequestBody):
    by: SortKey
    descending: bool = False


class Reorder(RequestBody):
    entry_ids: Annotated[list[Id], Field(min_length=1, max_length=100_000)]


class Merge(RequestBody):
    source_playlist_id: Id
    skip_present: bool = True


# ---------------------------------------------------------------- internal writes for provider-sync

MAX_SYNC_TRACKS = 2_000
MAX_SYNC_AUTHOR = 100


class DescribedTrack(TrackIn):
    """A track provider-sync read from a provider: a description only (never a ``track_id``), with what
    an import's description tells besides (its media type, whether it plays), since writing it refreshes
    the library's track as an import does: a field left out would overwrite what the import wrote."""

    media_type: MediaKind = "track"
    available: bool | None = None

    @model_validator(mode="after")
    def _described(self) -> DescribedTrack:
        if self.track_id is not None:
            raise ValueError("describe the track: a track_id is not accepted here")
        return self


class SyncTracks(RequestBody):
    tracks: Annotated[list[DescribedTrack], Field(max_length=MAX_SYNC_TRACKS)]


def _sync_author(author: str) -> str:
    if not author.isprintable():
        raise ValueError("the author holds only printable characters")
    return author


class SyncEntries(RequestBody):
    # No bound on the count here: the body's size bounds it, and beyond MAX_ENTRIES the edit answers
    # the playlist's own 422 (playlist-too-large), as every other edit does.
    track_ids: list[Id]
    # Names the sync that made the version in the history ("sync:<link>"), never a user or an import.
    author: Annotated[
        str,
        Field(min_length=len("sync:") + 1, max_length=MAX_SYNC_AUTHOR, pattern=r"^sync:"),
        AfterValidator(_sync_author),
    ]


# ---------------------------------------------------------------- resources


def playlist_view(p: Playlist) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "collection": p.collection,
        "name": p.name,
        "description": p.description,
        "public": p.public,
        "collaborative": p.collaborative,
        "cover_url": p.cover_url,
        "origin": (
            {
                "provider": p.origin_provider,
                "playlist_id": p.origin_playlist_id,
                "owner_id": p.origin_owner_id,
                "owner_name": p.origin_owner_name,
            }
            if p.origin_provider is not None
            else None
        ),
        "read_only": p.read_only,
        "gone_from_provider": p.gone_from_provider,
        "version": p.version,
        "entry_count": p.entry_count,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }


def _track(track_id: Any, t: Any, enrichment: Enrichment | None) -> dict[str, Any]:
    """A track's own fields as its provider (or the user) described them, and beside them the catalog's
    ``enrichment`` of it (null: none), which never replaces them."""
    release = t.release_date
    return {
        "id": str(track_id),
        "title": t.title,
        "artists": list(t.artists),
        "album": t.album,
        "duration_ms": t.duration_ms,
        "isrc": t.isrc,
        "explicit": t.explicit,
        "release_date": release.isoformat() if release is not None else None,
        "provider_ids": {str(k): v for k, v in t.provider_ids.items()},
        "enrichment": enrichment_view(enrichment),
    }


def entry_view(e: EntryView) -> dict[str, Any]:
    track = _track(e.track_id, e, e.enrichment)
    track.update(media_type=e.media_type, is_local=e.is_local, available=e.available)
    return {
        "id": str(e.id),
        "position": e.position,
        "added_at": iso(e.added_at),
        "added_by": e.added_by,
        "track": track,
    }


def page_body(p: Playlist, entries: list[EntryView], offset: int, limit: int) -> bytes:
    body = playlist_view(p)
    following = offset + limit
    body["entries"] = {
        "offset": offset,
        "limit": limit,
        "total": p.entry_count,
        "next_offset": following if following < p.entry_count else None,
        "items": [entry_view(e) for e in entries],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def version_view(v: Version) -> dict[str, Any]:
    return {
        "version": v.version,
        "kind": v.kind,
        "author": v.author,
        "created_at": iso(v.created_at),
        "added": v.added,
        "removed": v.removed,
        "moved": v.moved,
        "entry_count": v.entry_count,
        "details": v.details,
    }


def diff_entry(
    position: int,
    entry: Entry,
    tracks: Mapping[Any, Track],
    enrichments: Mapping[Any, Enrichment] | None = None,
) -> dict[str, Any]:
    track = tracks.get(entry.track_id)
    return {
        "id": str(entry.id),
        "position": position,
        "added_at": iso(entry.added_at),
        "added_by": entry.added_by,
        "track": (
            _track(entry.track_id, track, (enrichments or {}).get(entry.track_id))
            if track is not None
            else {"id": str(entry.track_id)}
        ),
    }


def duplicate_view(d: Duplicate) -> dict[str, Any]:
    return {"entry_id": str(d.entry_id), "duplicate_of": str(d.kept_entry_id), "rule": d.rule}
