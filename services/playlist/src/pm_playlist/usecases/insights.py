"""The library's insights (docs/library.md, "Insights"): a user's tracks read from the library, what is
one recording and what a service holds of it asked of the canonical catalog (enrichment's internal
lookup, one call per 500 tracks), the answers made by domain/insights.py. Nothing is searched on a
provider, and nothing of the user leaves for the catalog but provider ids and ISRCs."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from pm_contracts.transfers import MAX_LOOKUP, CatalogLookup, LookupKey
from pm_platform.errors import ServiceUnavailable
from pm_platform.internal import CatalogReader, InternalClient, PeerUnavailable
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_playlist.domain import insights
from pm_playlist.domain.insights import LibraryTrack
from pm_playlist.settings import playlist_settings
from pm_playlist.storage import insights as insights_sql
from pm_playlist.usecases.changes import PlaylistNotFound

CATALOG = ResourceKey("catalog", CatalogReader)


async def catalog_reader(rt: Runtime) -> AsyncIterator[None]:
    """The canonical catalog's lookup over one HTTP session, for the service's lifetime."""
    settings = playlist_settings(rt.settings)
    client = InternalClient(settings.service_token.get_secret_value())
    rt[CATALOG] = CatalogReader(client, settings.enrichment_url)
    try:
        yield
    finally:
        del rt[CATALOG]
        await client.close()


@dataclass(frozen=True)
class Answer:
    """The catalog's answer for one library track: the recording (of the track itself, or found through
    it on the target), how (``via``: "id" or "isrc"), and whether a recent search found it nowhere."""

    recording: uuid.UUID | None
    via: str | None
    absent: bool


async def _ask(
    catalog: CatalogReader, target: str, asked: Sequence[tuple[uuid.UUID, LookupKey]]
) -> dict[uuid.UUID, Answer]:
    answers: dict[uuid.UUID, Answer] = {}
    for start in range(0, len(asked), MAX_LOOKUP):
        page = asked[start : start + MAX_LOOKUP]
        try:
            result = await catalog.lookup(CatalogLookup(target=target, tracks=[key for _, key in page]))
        except PeerUnavailable as exc:
            raise ServiceUnavailable("the catalog cannot answer just now; try again shortly") from exc
        for (track_id, _), hit, absent in zip(page, result.hits, result.absent, strict=True):
            answers[track_id] = Answer(
                hit.recording_id if hit else None, hit.via if hit else None, absent is not None
            )
    return answers


async def _recordings(catalog: CatalogReader, tracks: Sequence[LibraryTrack]) -> dict[uuid.UUID, uuid.UUID]:
    """Each known track's own recording: each of its provider ids asked on its own provider, where the
    catalog answers a track it holds with itself (``via="id"``: certain); the first provider's answer
    wins. A track the catalog holds under none of its ids is left out."""
    by_provider: dict[str, list[tuple[uuid.UUID, LookupKey]]] = defaultdict(list)
    for track in tracks:
        for provider, provider_track_id in sorted(track.provider_ids.items()):
            by_provider[provider].append(
                (track.id, LookupKey(provider=provider, provider_track_id=provider_track_id))
            )
    found: dict[uuid.UUID, uuid.UUID] = {}
    for provider, asked in sorted(by_provider.items()):
        for track_id, answer in (await _ask(catalog, provider, asked)).items():
            if answer.recording is not None and answer.via == "id":
                found.setdefault(track_id, answer.recording)
    return found


def _track_view(track: LibraryTrack, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(track.id),
        "title": track.title,
        "artists": list(track.artists),
        "duration_ms": track.duration_ms,
        "isrc": track.isrc,
        "provider_ids": dict(track.provider_ids),
        "playlists": [
            {"id": str(pid), "name": names.get(pid, ""), "entries": n}
            for pid, n in sorted(track.playlists.items(), key=lambda item: (names.get(item[0], ""), item[0]))
        ],
    }


async def duplicates(rt: Runtime, user_id: uuid.UUID, offset: int, limit: int) -> dict[str, Any]:
    """One page of the user's duplicate groups: library tracks in any playlist that the catalog holds as
    one recording (other services' ids, other titles)."""
    async with rt.pool.acquire() as conn:
        tracks = await insights_sql.library_tracks(conn, user_id)
        names = await insights_sql.playlist_names(conn, user_id)
    recording_of = await _recordings(rt[CATALOG], tracks)
    groups = insights.duplicates(tracks, recording_of)
    page = groups[offset : offset + limit]
    return {
        "groups": [
            {"recording_id": str(g.recording_id), "tracks": [_track_view(t, names) for t in g.tracks]}
            for g in page
        ],
        "offset": offset,
        "limit": limit,
        "total": len(groups),
        "next_offset": offset + limit if offset + limit < len(groups) else None,
        "tracks": len(tracks),
        "tracks_in_catalog": len(recording_of),
    }


async def availability(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID, target: str
) -> dict[str, Any]:
    """Whether each track of one of the user's playlists is on ``target``, by the catalog alone: the
    tracks that are not (or that nobody knows to be), in playlist order, and a count of every answer."""
    async with rt.pool.acquire() as conn:
        if not await insights_sql.owns_playlist(conn, user_id, playlist_id):
            raise PlaylistNotFound("no such playlist")
        tracks = await insights_sql.library_tracks(conn, user_id, playlist_id)
        names = await insights_sql.playlist_names(conn, user_id)
    asked: list[tuple[uuid.UUID, LookupKey]] = []
    for track in tracks:
        if target in track.provider_ids:
            continue
        key = track.lookup_key(target)
        if key is not None or track.isrc:
            provider, track_id = key if key is not None else (None, None)
            asked.append(
                (track.id, LookupKey(provider=provider, provider_track_id=track_id, isrc=track.isrc))
            )
    answers = await _ask(rt[CATALOG], target, asked)
    counts: dict[str, int] = dict.fromkeys(("on-service", "matched", "isrc", "absent", "unknown"), 0)
    missing: list[dict[str, Any]] = []
    for track in tracks:
        answer = answers.get(track.id, Answer(None, None, False))
        status = insights.availability(track, target, answer.via, answer.absent)
        counts[status] += 1
        if status not in insights.AVAILABLE:
            missing.append(_track_view(track, names) | {"availability": status})
    return {
        "playlist_id": str(playlist_id),
        "provider": target,
        "tracks": len(tracks),
        "counts": counts,
        "not_available": missing,
    }


async def statistics(rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID | None) -> dict[str, Any]:
    """Counts over the user's distinct tracks (of one playlist when named)."""
    async with rt.pool.acquire() as conn:
        if playlist_id is not None and not await insights_sql.owns_playlist(conn, user_id, playlist_id):
            raise PlaylistNotFound("no such playlist")
        tracks = await insights_sql.library_tracks(conn, user_id, playlist_id)
    stats = insights.statistics(tracks)
    return {
        "playlist_id": str(playlist_id) if playlist_id else None,
        "tracks": stats.tracks,
        "artists": stats.artists,
        "total_duration_ms": stats.total_duration_ms,
        "tracks_with_duration": stats.with_duration,
        "tracks_with_isrc": stats.with_isrc,
        "isrc_share": stats.isrc_share,
        "per_artist": [{"artist": name, "tracks": n} for name, n in stats.per_artist],
        "per_decade": stats.per_decade,
    }
