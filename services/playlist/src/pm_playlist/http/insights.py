"""The library's insights (docs/library.md, "Insights"): duplicates across the user's playlists, a
playlist's tracks not available on a service, statistics. Reads only; private answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from pm_contracts.providers import ProviderName
from pm_platform.api import parse_uuid, whole_number
from pm_platform.errors import ValidationFailed
from pm_platform.identity import require_identity
from pm_platform.service import RUNTIME, Runtime
from pm_playlist.usecases import insights
from pm_playlist.usecases.changes import PlaylistNotFound

DUPLICATES_PAGE = 50
MAX_DUPLICATES_PAGE = 500


def _user(request: web.Request) -> tuple[Runtime, uuid.UUID]:
    rt = request.app[RUNTIME]
    return rt, require_identity(request, rt.identities).user_id


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "message": message, "type": "value_error"}])


def _playlist(request: web.Request, required: bool) -> uuid.UUID | None:
    raw = request.query.get("playlist_id")
    if raw is None:
        if required:
            raise _invalid("playlist_id", "playlist_id is required")
        return None
    playlist_id = parse_uuid(raw)
    if playlist_id is None:
        raise PlaylistNotFound("no such playlist")  # as for a playlist of another user: it names nothing here
    return playlist_id


def _answer(body: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers={"Cache-Control": "private, no-cache"},
    )


async def duplicates(request: web.Request) -> web.Response:
    """``GET /api/v1/library/insights/duplicates``: groups of library tracks that are one recording."""
    rt, user_id = _user(request)
    offset = whole_number(request.query.get("offset"), "offset", 0, 10_000_000, 0)
    limit = whole_number(request.query.get("limit"), "limit", 1, MAX_DUPLICATES_PAGE, DUPLICATES_PAGE)
    return _answer(await insights.duplicates(rt, user_id, offset, limit))


async def availability(request: web.Request) -> web.Response:
    """``GET /api/v1/library/insights/availability?playlist_id=…&provider=…``: a playlist's tracks the
    catalog does not know on that service."""
    rt, user_id = _user(request)
    playlist_id = _playlist(request, required=True)
    assert playlist_id is not None
    provider = request.query.get("provider")
    if provider not in {p.value for p in ProviderName}:
        raise _invalid("provider", f"provider must be one of {', '.join(p.value for p in ProviderName)}")
    return _answer(await insights.availability(rt, user_id, playlist_id, provider))


async def statistics(request: web.Request) -> web.Response:
    """``GET /api/v1/library/insights/statistics[?playlist_id=…]``: counts over the library's tracks."""
    rt, user_id = _user(request)
    return _answer(await insights.statistics(rt, user_id, _playlist(request, required=False)))
