"""The canonical catalog's internal lookup (never routed by the gateway; ``Authorization: Service …``).

``POST /internal/catalog/lookup`` with a :class:`~pm_contracts.transfers.CatalogLookup` body (the target
provider and at most MAX_LOOKUP source tracks, each a provider id, an ISRC or both) answers a
:class:`~pm_contracts.transfers.CatalogLookupResult`: one hit or null per track, in order, and beside
it when a recent search found the track nowhere on the target (usecases/catalog.py). 401 without the service credential, 403 with a wrong one; 415 for another media
type, 413 past MAX_BODY_BYTES, 400 for malformed JSON, 422 naming each invalid field (too many tracks,
an unknown provider, a wrong type, an id or ISRC too long). A NUL character is no error here: no track
the catalog holds has one in its id (the events that would bring one are dead-lettered), so such a track
is simply not found, and one odd track does not fail a transfer's whole page.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from pm_contracts.transfers import MAX_LOOKUP, CatalogLookup, LookupKey
from pm_enrichment.usecases import catalog
from pm_platform.api import LenientProvider, RequestBody
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
