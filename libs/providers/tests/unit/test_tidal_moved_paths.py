"""TIDAL moved its collection and search paths in 2024-26: the adapter uses the current path and, when
a provider answers 404 there, the older one from then on (the emulator serves both, so this is
checked here against a scripted server that knows only the old forms)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pm_providers.adapters.common import AdapterContext
from pm_providers.adapters.tidal import TidalAdapter
from pm_providers.client import classifier
from pm_providers.http import ProviderHttp, StaticTokenSource
from pm_providers.models import ProviderName
from pm_providers.settings import ProviderSettings

JSONAPI = "application/vnd.api+json"


async def not_found(_r: web.Request) -> web.Response:
    body = {"errors": [{"status": "404", "code": "NOT_FOUND", "detail": "Resource not found"}]}
    return web.json_response(body, status=404, content_type=JSONAPI)


async def old_playlists(_r: web.Request) -> web.Response:
    return web.json_response(
        {
            "data": [{"id": "pl-1", "type": "playlists"}],
            "included": [
                {
                    "id": "pl-1",
                    "type": "playlists",
                    "attributes": {"name": "Old path", "accessType": "PUBLIC"},
                }
            ],
            "links": {"self": "/userCollections/42/relationships/playlists"},
        },
        content_type=JSONAPI,
    )


async def me(_r: web.Request) -> web.Response:
    return web.json_response(
        {"data": {"id": "42", "type": "users", "attributes": {"country": "NO"}}}, content_type=JSONAPI
    )


async def old_search(_r: web.Request) -> web.Response:
    return web.json_response(
        {
            "data": {
                "id": "q",
                "type": "searchResults",
                "relationships": {"tracks": {"data": [{"id": "7", "type": "tracks"}]}},
            }
        },
        content_type=JSONAPI,
    )


async def tracks(_r: web.Request) -> web.Response:
    return web.json_response(
        {"data": [{"id": "7", "type": "tracks", "attributes": {"title": "Song", "duration": "PT3M"}}]},
        content_type=JSONAPI,
    )


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[TidalAdapter, list[str]]]:
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: aiohttp.typedefs.Handler) -> web.StreamResponse:
        seen.append(request.path.removeprefix("/v2"))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_get("/v2/userCollectionPlaylists/me/relationships/items", not_found)
    app.router.add_get("/v2/userCollections/42/relationships/playlists", old_playlists)
    app.router.add_get("/v2/users/me", me)
    app.router.add_get("/v2/searchResults", not_found)
    app.router.add_get("/v2/searchResults/{q}", old_search)
    app.router.add_get("/v2/tracks", tracks)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    settings = ProviderSettings()
    async with aiohttp.ClientSession() as session:
        http = ProviderHttp(
            ProviderName.TIDAL,
            session=session,
            base_url=f"http://127.0.0.1:{server.port}/v2",
            classify=classifier(ProviderName.TIDAL, settings.retry),
            tokens=StaticTokenSource("token-0123456789"),
            policy=settings.retry,
        )
        yield TidalAdapter(AdapterContext(http, settings)), seen
    await server.close()


async def test_collection_falls_back_once(adapter: tuple[TidalAdapter, list[str]]) -> None:
    tidal, seen = adapter
    assert [p.name async for p in tidal.playlists()] == ["Old path"]
    assert seen == [
        "/userCollectionPlaylists/me/relationships/items",
        "/users/me",
        "/userCollections/42/relationships/playlists",
    ]
    seen.clear()
    assert [p.name async for p in tidal.playlists()] == ["Old path"]
    assert seen == ["/userCollections/42/relationships/playlists"]  # remembered


async def test_search_falls_back_to_the_path_form(adapter: tuple[TidalAdapter, list[str]]) -> None:
    tidal, seen = adapter
    found = await tidal.search_tracks(title="Song", artist="Sigur Rós")
    assert [(t.id, t.title, t.duration_ms) for t in found] == [("7", "Song", 180_000)]
    assert seen[:2] == ["/searchResults", "/searchResults/Sigur Rós Song"]
