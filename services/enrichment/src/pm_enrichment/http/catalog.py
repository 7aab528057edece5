"""The canonical catalog's internal lookup (never routed by the gateway; ``Authorization: Service …``).

``POST /internal/catalog/lookup`` with a :class:`~pm_contracts.transfers.CatalogLookup` body (the target
provider and at most MAX_LOOKUP source tracks, each a provider id, an ISRC or both) answers a
:class:`~pm_contracts.transfers.CatalogLookupResult`: one hit or null per track, in order, and beside
it when a recent search found the track nowhere on the target (usecases/catalog.py). 401 without the service credential, 403 with a wrong one; 415 for another media
type, 413 past MAX_BODY_BYTES, 400 for malformed JSON, 422 naming each invalid field (too many tracks,
an unknown provider, a wrong type, an id or ISRC too long). A NUL character is no error here: no track
the catalog holds has one in its id (the events that would bring one are dead-lettered), so such a track
is simply not found, and one odd track does not fail a transfer's whole page.

``POST /internal/catalog/recordings/{recording_id}/split`` (an operator's, with the service credential)
takes some tracks out of a recording into a new one, remembered (usecases/splits.py): 201 with both
recordings and the tracks moved; 404 for a recording that does not exist or was merged away (or an id
that is no UUID), 422 for a track not on it, a split leaving a side empty, or a bad body.
"""

from __future__ import annotations

import json

from aiohttp import web
from pydantic import Field

from pm_contracts.transfers import MAX_ID, MAX_LOOKUP, MAX_TEXT, CatalogLookup, LookupKey
from pm_enrichment.domain.catalog import TrackKey
from pm_enrichment.usecases import catalog, splits
from pm_platform.api import LenientProvider, RequestBody, parse_uuid
from pm_platform.http import read_json
from pm_platform.identity import require_service
from pm_platform.service import RUNTIME

# MAX_LOOKUP keys of the longest ids and ISRCs, every character escaped as \uXXXX, fit (about 700 kB).
MAX_BODY_BYTES = 1 << 20


class LookupBody(RequestBody):
    """The contract's CatalogLookup as a request body, closed at its top level. The keys are the
    contract's own model (a tolerant reader: a property it does not know is ignored). NUL characters
    are allowed: the use case never sends an id holding one to PostgreSQL (domain/catalog.py)."""

    allow_nul = True

    target: LenientProvider
    tracks: list[LookupKey] = Field(max_length=MAX_LOOKUP)


async def lookup(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_service(request, rt.settings.service_token.get_secret_value())
    body = await read_json(request, LookupBody, MAX_BODY_BYTES)
    result = await catalog.answer_lookup(rt, CatalogLookup(target=body.target, tracks=body.tracks))
    return web.Response(body=result.model_dump_json().encode(), content_type="application/json")


# Tracks one split takes out at most (a recording holds a few releases on each service).
MAX_SPLIT = 500


class SplitTrack(RequestBody):
    provider: LenientProvider
    provider_track_id: str = Field(min_length=1, max_length=MAX_ID)


class SplitBody(RequestBody):
    """The tracks to take out of the recording, and why (kept with the split)."""

    tracks: list[SplitTrack] = Field(min_length=1, max_length=MAX_SPLIT)
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


async def split(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_service(request, rt.settings.service_token.get_secret_value())
    recording_id = parse_uuid(request.match_info["recording_id"])
    if recording_id is None:
        raise splits.RecordingNotFound("no such recording")
    body = await read_json(request, SplitBody, MAX_BODY_BYTES)
    keys = [TrackKey(t.provider.value, t.provider_track_id) for t in body.tracks]
    done = await splits.split_recording(rt, recording_id, keys, body.reason)
    answer = {
        "split_id": done.split_id,
        "recording_id": str(done.recording_id),
        "new_recording_id": str(done.new_recording_id),
        "moved": [{"provider": k.provider, "provider_track_id": k.track_id} for k in done.moved],
        "staying": [{"provider": k.provider, "provider_track_id": k.track_id} for k in done.staying],
    }
    return web.Response(body=json.dumps(answer).encode(), status=201, content_type="application/json")
