"""The library API: each handler reads the request (the user from the gateway's identity, ids, query,
body), calls its use case (usecases/library.py) and renders the answer (http/api.py).

Reads answer with an ``ETag`` and honour ``If-None-Match`` (304); writes honour ``If-Match`` (412 when
the playlist changed since). A playlist page is served from the cache when it holds that version
(storage/cache.py), and a conditional request is then answered from Redis alone. Ids that are not UUIDs,
and playlists of other users, are the same 404 as playlists that do not exist.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from pm_contracts.library import ImportedTrack, MediaKind
from pm_platform.api import parse_uuid, whole_number
from pm_platform.errors import NotFound, Problem, ValidationFailed
from pm_platform.http import read_json
from pm_platform.identity import require_identity, require_service
from pm_platform.service import RUNTIME, Runtime
from pm_playlist.domain import api
from pm_playlist.domain.entries import MAX_ENTRIES_PER_EDIT, Entries, Insert, Move, Remove, SingleEdit
from pm_playlist.domain.imports import track_record
from pm_playlist.domain.listing import QueryRefused, parse_list_query
from pm_playlist.domain.playlists import Playlist, TrackRecord
from pm_playlist.usecases import library, sync
from pm_playlist.usecases.library import NewPlaylist, TrackRef

# A whole provider playlist in one edit (10,000 described tracks) fits; 100,000 does not.
EDIT_MAX_BYTES = 8 << 20
DETAILS_MAX_BYTES = 64 << 10
ENTRIES_PAGE = 100
MAX_ENTRIES_PAGE = 500
MAX_VERSIONS_PAGE = 100
# Library answers are private: a shared cache on the way must not keep them.
PRIVATE = {"Cache-Control": "private, no-cache"}


def _user(request: web.Request) -> tuple[Runtime, uuid.UUID]:
    rt = request.app[RUNTIME]
    return rt, require_identity(request, rt.identities).user_id


def _named_user(request: web.Request) -> tuple[Runtime, uuid.UUID]:
    """An internal read's user: named in the path by another service (transfers read their sources,
    backups the library and its history)."""
    rt = request.app[RUNTIME]
    require_service(request, rt.settings.service_token.get_secret_value())
    user_id = parse_uuid(request.match_info["user_id"])
    if user_id is None:
        raise NotFound("no such user")
    return rt, user_id


def _playlist_id(request: web.Request) -> uuid.UUID | None:
    return parse_uuid(request.match_info["playlist_id"])


def _refused(exc: QueryRefused) -> ValidationFailed:
    return ValidationFailed(
        str(exc), errors=[{"field": exc.field, "message": str(exc), "type": "value_error"}]
    )


def _query_int(request: web.Request, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    return whole_number(request.query.get(name), name, minimum, maximum, default)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _json(body: bytes, etag: str, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        content_type="application/json",
        headers={"ETag": etag, **PRIVATE, **headers},
    )


def _not_modified(etag: str) -> web.Response:
    return web.Response(status=304, headers={"ETag": etag, **PRIVATE})


def _playlist_answer(playlist: Playlist, status: int = 200) -> web.Response:
    body = json.dumps(api.playlist_view(playlist), separators=(",", ":")).encode()
    headers = {"Location": f"/api/v1/playlists/{playlist.id}"} if status == 201 else {}
    return _json(body, playlist.etag, status, **headers)


def _track_ref(t: api.TrackIn) -> TrackRef:
    if t.track_id is not None:
        return TrackRef(track_id=t.track_id)
    return TrackRef(record=_described(t))


def _described(t: api.TrackIn, media_type: MediaKind = "track", available: bool | None = None) -> TrackRecord:
    assert t.title is not None  # the body's validator
    # The body's validators have checked every field: built without validating them again.
    described = ImportedTrack.model_construct(
        provider_track_id=t.provider_track_id,
        title=t.title,
        artists=t.artists,
        album=t.album,
        duration_ms=t.duration_ms,
        isrc=t.isrc,
        explicit=t.explicit,
        release_date=t.release_date,
        media_type=media_type,
        is_local=t.provider is None,
        available=available,
    )
    return track_record(t.provider.value if t.provider is not None else None, described)


# ---------------------------------------------------------------- reads


async def list_playlists(request: web.Request) -> web.Response:
    return await _list_playlists(request, *_user(request))


async def list_user_playlists(request: web.Request) -> web.Response:
    """``GET /internal/users/{user_id}/playlists``: the public list, for another service."""
    return await _list_playlists(request, *_named_user(request))


async def _list_playlists(request: web.Request, rt: Runtime, user_id: uuid.UUID) -> web.Response:
    try:
        query = parse_list_query(dict(request.query))
    except QueryRefused as exc:
        raise _refused(exc) from None
    body = await library.read_list(rt, user_id, query, request.query_string)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if _matches(request.headers.get("If-None-Match"), etag):
        return _not_modified(etag)
    return _json(body, etag)


async def get_playlist(request: web.Request) -> web.Response:
    """The hot read: answered from the cache when it holds the version (usecases/library.read_page)."""
    return await _get_playlist(request, *_user(request))


async def get_user_playlist(request: web.Request) -> web.Response:
    """``GET /internal/users/{user_id}/playlists/{playlist_id}``: the public page, for another service."""
    return await _get_playlist(request, *_named_user(request))


async def _get_playlist(request: web.Request, rt: Runtime, user_id: uuid.UUID) -> web.Response:
    offset = _query_int(request, "offset", 0, 10_000_000)
    limit = _query_int(request, "limit", ENTRIES_PAGE, MAX_ENTRIES_PAGE, minimum=1)
    if_none_match = request.headers.get("If-None-Match")
    page = await library.read_page(
        rt, user_id, _playlist_id(request), offset, limit, lambda etag: _matches(if_none_match, etag)
    )
    return _not_modified(page.etag) if page.body is None else _json(page.body, page.etag)


async def liked_collections(request: web.Request) -> web.Response:
    """Each provider's liked songs: the library's collections of kind ``liked``."""
    rt, user_id = _user(request)
    rows = await library.list_page(rt, user_id, parse_list_query({"collection": "liked", "limit": "200"}))
    body = json.dumps({"collections": [api.playlist_view(p) for p, _ in rows[:200]]}).encode()
    return _json(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


async def list_versions(request: web.Request) -> web.Response:
    return await _list_versions(request, *_user(request))


async def list_user_versions(request: web.Request) -> web.Response:
    """``GET /internal/users/{user_id}/playlists/{playlist_id}/versions``: the public history, for another
    service (a backup keeps it)."""
    return await _list_versions(request, *_named_user(request))


async def _list_versions(request: web.Request, rt: Runtime, user_id: uuid.UUID) -> web.Response:
    before = _query_int(request, "before", 0, 2**31 - 1) or None
    limit = _query_int(request, "limit", 50, MAX_VERSIONS_PAGE, minimum=1)
    playlist, found, more = await library.versions(rt, user_id, _playlist_id(request), before, limit)
    following = found[-1].version if more else None
    body = json.dumps(
        {"versions": [api.version_view(v) for v in found], "next_before": following}, separators=(",", ":")
    ).encode()
    return _json(body, playlist.etag)


async def diff_versions(request: web.Request) -> web.Response:
    return await _diff_versions(request, *_user(request))


async def diff_user_versions(request: web.Request) -> web.Response:
    """``GET /internal/users/{user_id}/playlists/{playlist_id}/diff``: the public diff, for another
    service (a backup keeps each kept version's changes)."""
    return await _diff_versions(request, *_named_user(request))


async def _diff_versions(request: web.Request, rt: Runtime, user_id: uuid.UUID) -> web.Response:
    older = _query_int(request, "from", 0, 2**31 - 1, minimum=1)
    newer = _query_int(request, "to", 0, 2**31 - 1, minimum=1)
    if older == 0 or newer == 0:
        raise _refused(QueryRefused("from", "give both versions: ?from=N&to=M"))
    found = await library.version_diff(rt, user_id, _playlist_id(request), older, newer)
    changes, tracks, enriched = found.changes, found.tracks, found.enrichments
    body = {
        "from": older,
        "to": newer,
        "added": [api.diff_entry(i, e, tracks, enriched) for i, e in changes.added],
        "removed": [api.diff_entry(i, e, tracks, enriched) for i, e in changes.removed],
        "moved": [
            {**api.diff_entry(m.to_position, m.entry, tracks, enriched), "from_position": m.from_position}
            for m in changes.moved
        ],
    }
    return _json(json.dumps(body, separators=(",", ":")).encode(), found.playlist.etag)


# ---------------------------------------------------------------- writes


def _if_match(request: web.Request) -> str | None:
    return request.headers.get("If-Match")


async def create_playlist(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    body = await read_json(request, api.CreatePlaylist, EDIT_MAX_BYTES)
    playlist = await library.create_playlist(
        rt,
        user_id,
        NewPlaylist(body.name, body.description, body.public, body.collaborative),
        [_track_ref(t) for t in body.tracks],
    )
    return _playlist_answer(playlist, 201)


async def change_details(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    body = await read_json(request, api.ChangeDetails, DETAILS_MAX_BYTES)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise ValidationFailed("a playlist keeps a name", errors=[{"field": "name", "message": "null"}])
    playlist = await library.change_details(rt, user_id, _playlist_id(request), changes, _if_match(request))
    return _playlist_answer(playlist)


async def delete_playlist(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    await library.remove_playlist(rt, user_id, _playlist_id(request), _if_match(request))
    return web.Response(status=204)


async def _edit(
    request: web.Request, kind: str, plan: library.EditPlan, tracks: list[TrackRef] | None = None
) -> web.Response:
    rt, user_id = _user(request)
    playlist, _ = await library.edit_entries(
        rt, user_id, _playlist_id(request), _if_match(request), kind, plan, tracks
    )
    return _playlist_answer(playlist)


async def add_entries(request: web.Request) -> web.Response:
    _, user_id = _user(request)
    body = await read_json(request, api.AddEntries, EDIT_MAX_BYTES)
    return await _edit(
        request, "insert", library.insert_plan(body.position, user_id), [_track_ref(t) for t in body.tracks]
    )


async def remove_entries(request: web.Request) -> web.Response:
    body = await read_json(request, api.RemoveEntries, EDIT_MAX_BYTES)
    return await _edit(request, "remove", library.remove_plan(body.entry_ids))


async def move_entries(request: web.Request) -> web.Response:
    body = await read_json(request, api.MoveEntries, EDIT_MAX_BYTES)
    return await _edit(request, "move", library.move_plan(body.entry_ids, body.to))


def _step(step: api.AddStep | api.RemoveStep | api.MoveStep, author: uuid.UUID) -> library.BatchStep:
    def make(current: Entries, tracks: Iterator[uuid.UUID]) -> SingleEdit:
        if isinstance(step, api.AddStep):
            ids = [next(tracks) for _ in step.tracks]
            position = len(current) if step.position is None else step.position
            return Insert(position, library.new_entries(ids, author))
        if isinstance(step, api.RemoveStep):
            return Remove(tuple(step.entry_ids))
        return Move(tuple(step.entry_ids), step.to)

    return make


async def batch_edit(request: web.Request) -> web.Response:
    _, user_id = _user(request)
    body = await read_json(request, api.BatchEdit, EDIT_MAX_BYTES)
    tracks = [_track_ref(t) for step in body.edits if isinstance(step, api.AddStep) for t in step.tracks]
    if len(tracks) > MAX_ENTRIES_PER_EDIT:
        raise Problem(
            f"one edit may add at most {MAX_ENTRIES_PER_EDIT} entries", status=422, code="edit-too-large"
        )
    plan = library.batch_plan([_step(step, user_id) for step in body.edits])
    return await _edit(request, "batch", plan, tracks)


async def reorder(request: web.Request) -> web.Response:
    body = await read_json(request, api.Reorder, EDIT_MAX_BYTES)
    return await _edit(request, "reorder", library.reorder_plan(body.entry_ids))


async def sort(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    body = await read_json(request, api.Sort, DETAILS_MAX_BYTES)
    playlist = await library.sort(
        rt, user_id, _playlist_id(request), _if_match(request), body.by, body.descending
    )
    return _playlist_answer(playlist)


async def dedupe(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    body = await read_json(request, api.Dedupe, DETAILS_MAX_BYTES)
    playlist, found = await library.dedupe(
        rt, user_id, _playlist_id(request), _if_match(request), body.dry_run
    )
    answer = {
        "playlist": api.playlist_view(playlist),
        "dry_run": body.dry_run,
        "duplicates": [api.duplicate_view(d) for d in found],
    }
    return _json(json.dumps(answer, separators=(",", ":")).encode(), playlist.etag)


async def merge(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    body = await read_json(request, api.Merge, DETAILS_MAX_BYTES)
    playlist = await library.merge(
        rt, user_id, _playlist_id(request), body.source_playlist_id, _if_match(request), body.skip_present
    )
    return _playlist_answer(playlist)


async def restore(request: web.Request) -> web.Response:
    rt, user_id = _user(request)
    raw = request.match_info["version"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise library.VersionNotFound("no such version")
    playlist = await library.restore(rt, user_id, _playlist_id(request), int(raw), _if_match(request))
    return _playlist_answer(playlist)


# ---------------------------------------------------------------- internal writes for provider-sync


async def write_user_tracks(request: web.Request) -> web.Response:
    """``POST /internal/users/{user_id}/tracks``: the user's library tracks for these descriptions
    (added or refreshed as an import does), their ids in the order asked. Idempotent."""
    rt, user_id = _named_user(request)
    body = await read_json(request, api.SyncTracks, EDIT_MAX_BYTES)
    records = [_described(t, t.media_type, t.available) for t in body.tracks]
    track_ids = await sync.write_tracks(rt, user_id, records)
    answer = json.dumps({"track_ids": [str(t) for t in track_ids]}, separators=(",", ":")).encode()
    return web.Response(body=answer, content_type="application/json", headers=PRIVATE)


async def write_user_entries(request: web.Request) -> web.Response:
    """``PUT /internal/users/{user_id}/playlists/{playlist_id}/entries``: the playlist made exactly these
    tracks in this order (``If-Match`` required); answered as a public edit is. Idempotent."""
    rt, user_id = _named_user(request)
    body = await read_json(request, api.SyncEntries, EDIT_MAX_BYTES)
    playlist = await sync.write_entries(
        rt, user_id, _playlist_id(request), _if_match(request), body.track_ids, body.author
    )
    return _playlist_answer(playlist)
