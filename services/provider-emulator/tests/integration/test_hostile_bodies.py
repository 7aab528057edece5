"""Hostile request bodies: every endpoint that reads JSON answers a body nested too deep, or holding a
huge number, exactly as it answers a body that is not JSON (its provider's error), never with a 500.
Bodies that arrive too slowly get a 408; bodies too large a 413."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from pm_provider_emulator.http import common

SPOTIFY = {"Authorization": "Bearer demo-spotify-access-token"}
TIDAL = {"Authorization": "Bearer demo-tidal-access-token"}
YOUTUBE = {"Authorization": "Bearer ya29.demo-youtube-access-token"}
SP, TD, YT = "/api.spotify.com/v1", "/openapi.tidal.com/v2", "/www.googleapis.com/youtube/v3"

CLIENT_MAX_SIZE = 16 * 1024 * 1024  # app.py
NOT_JSON = b"{not json"
HOSTILE = {
    "brackets": b"[" * 8000,  # json.loads: RecursionError
    "long number": b"1" * 5000,  # beyond Python's int conversion limit
    "long number in an object": b'{"name": "x", "description": ' + b"9" * 5000 + b"}",
    # Valid JSON nested 900 deep: json.loads takes it, str() of it or pydantic would not.
    "deep but parseable": b'{"name": "x", "description": ' + b"[" * 900 + b"]" * 900 + b"}",
    "infinity": b'{"name": "x", "public": Infinity}',
    "number beyond a double": b'{"name": "x", "public": 1e400}',
}

Send = Callable[[bytes], Awaitable[tuple[int, str, Any]]]


def sender(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Send:
    """Sends a body to one endpoint; answers (status, content type, parsed body)."""
    headers = {**(headers or {}), "Content-Type": "application/json"}

    async def send(body: bytes) -> tuple[int, str, Any]:
        r = await client.request(method, path, data=body, headers=headers, params=params)
        answer = await r.json() if r.content_type.endswith("json") else await r.text()
        return r.status, r.content_type, answer

    return send


async def spotify_playlist(client: TestClient[Any, Any]) -> str:
    r = await client.post(f"{SP}/me/playlists", headers=SPOTIFY, json={"name": "hostile", "public": False})
    assert r.status == 201, await r.text()
    return str((await r.json())["id"])


async def tidal_playlist(client: TestClient[Any, Any]) -> str:
    body = {"data": {"type": "playlists", "attributes": {"name": "hostile"}}}
    r = await client.post(f"{TD}/playlists", headers=TIDAL, json=body)
    assert r.status == 201, await r.text()
    return str((await r.json())["data"]["id"])


async def provider_endpoints(make_client: Callable[..., Any]) -> dict[str, tuple[Send, str]]:
    """Every provider endpoint that reads a JSON body, with the provider whose error shape it answers."""
    client: TestClient[Any, Any] = await make_client()
    legacy: TestClient[Any, Any] = await make_client(spotify_mode="legacy")
    sp, sp_legacy, td = (
        await spotify_playlist(client),
        await spotify_playlist(legacy),
        await tidal_playlist(client),
    )
    endpoints = {
        "spotify create": (sender(client, "POST", f"{SP}/me/playlists", headers=SPOTIFY), "spotify"),
        "spotify legacy create for user": (
            sender(legacy, "POST", f"{SP}/users/pmdemo.spotify/playlists", headers=SPOTIFY),
            "spotify",
        ),
        "spotify change details": (sender(client, "PUT", f"{SP}/playlists/{sp}", headers=SPOTIFY), "spotify"),
        "spotify legacy save tracks": (sender(legacy, "PUT", f"{SP}/me/tracks", headers=SPOTIFY), "spotify"),
        "spotify legacy remove tracks": (
            sender(legacy, "DELETE", f"{SP}/me/tracks", headers=SPOTIFY),
            "spotify",
        ),
        "tidal create": (sender(client, "POST", f"{TD}/playlists", headers=TIDAL), "tidal"),
        "tidal create, idempotent": (
            sender(client, "POST", f"{TD}/playlists", headers={**TIDAL, "Idempotency-Key": "hostile"}),
            "tidal",
        ),
        "tidal update": (sender(client, "PATCH", f"{TD}/playlists/{td}", headers=TIDAL), "tidal"),
        "youtube insert playlist": (
            sender(client, "POST", f"{YT}/playlists", headers=YOUTUBE, params={"part": "snippet"}),
            "youtube",
        ),
        "youtube update playlist": (
            sender(client, "PUT", f"{YT}/playlists", headers=YOUTUBE, params={"part": "snippet"}),
            "youtube",
        ),
        "youtube insert item": (
            sender(client, "POST", f"{YT}/playlistItems", headers=YOUTUBE, params={"part": "snippet"}),
            "youtube",
        ),
        "youtube update item": (
            sender(client, "PUT", f"{YT}/playlistItems", headers=YOUTUBE, params={"part": "snippet"}),
            "youtube",
        ),
    }
    # The playlist's items at /items (current mode), at /tracks before 2026 (legacy).
    for method in ("POST", "PUT", "DELETE"):
        items = sender(client, method, f"{SP}/playlists/{sp}/items", headers=SPOTIFY)
        tracks = sender(legacy, method, f"{SP}/playlists/{sp_legacy}/tracks", headers=SPOTIFY)
        endpoints[f"spotify {method} items"] = (items, "spotify")
        endpoints[f"spotify legacy {method} tracks"] = (tracks, "spotify")
    for method in ("POST", "PATCH", "DELETE"):
        path = f"{TD}/playlists/{td}/relationships/items"
        endpoints[f"tidal {method} items"] = (sender(client, method, path, headers=TIDAL), "tidal")
    for method in ("POST", "DELETE"):
        path = f"{TD}/userCollectionTracks/me/relationships/items"
        endpoints[f"tidal {method} collection"] = (sender(client, method, path, headers=TIDAL), "tidal")
    return endpoints


def assert_provider_error(name: str, provider: str, status: int, content_type: str, body: Any) -> None:
    assert status == 400, (name, body)
    match provider:
        case "spotify":
            assert content_type == "application/json" and body["error"]["status"] == 400
        case "tidal":
            assert content_type == "application/vnd.api+json" and body["errors"][0]["status"] == "400"
        case "youtube":
            assert content_type == "application/json" and body["error"]["code"] == 400


async def test_every_provider_endpoint_answers_a_hostile_json_body_as_a_body_that_is_not_json(
    make_client: Callable[..., Any],
) -> None:
    for name, (send, provider) in (await provider_endpoints(make_client)).items():
        not_json = await send(NOT_JSON)
        assert_provider_error(name, provider, *not_json)
        for kind, body in HOSTILE.items():
            assert await send(body) == not_json, (name, kind)


async def test_every_admin_endpoint_answers_a_hostile_json_body_as_a_body_that_is_not_json(
    make_client: Callable[..., Any],
) -> None:
    client: TestClient[Any, Any] = await make_client(clock="manual")
    user = "/_admin/users/spotify/pmdemo.spotify"
    for method, path in [
        ("POST", "/_admin/users"),
        ("POST", f"{user}/tokens"),
        ("POST", f"{user}/revoke-access"),
        ("POST", "/_admin/clients"),
        ("PUT", "/_admin/faults/spotify"),
        ("PUT", "/_admin/rate-limits/spotify"),
        ("PUT", "/_admin/config"),
        ("POST", "/_admin/clock"),
    ]:
        send = sender(client, method, path)
        status, content_type, answer = await send(NOT_JSON)
        assert status < 500, (path, answer)
        for kind, body in HOSTILE.items():
            hostile = await send(body)
            # A success (an empty body is a valid one there) mints new tokens: compare errors only.
            assert hostile[:2] == (status, content_type), (path, kind, hostile)
            if status >= 400:
                assert hostile[2] == answer, (path, kind)


async def test_revoking_access_with_a_body_that_is_not_an_object_is_a_400(
    client: TestClient[Any, Any],
) -> None:
    r = await client.post("/_admin/users/spotify/pmdemo.spotify/revoke-access", data=b"[" * 8000)
    assert r.status == 400
    assert "client_id" in (await r.json())["error"]


@pytest.mark.parametrize(
    ("path", "headers", "announced"),
    [
        (f"{SP}/me/playlists", {**SPOTIFY, "Content-Type": "application/json"}, 100),
        ("/accounts.spotify.com/api/token", {"Content-Type": "application/x-www-form-urlencoded"}, 100),
    ],
    ids=["json", "form"],
)
async def test_a_body_slower_than_the_timeout_is_a_408_and_the_connection_closes(
    client: TestClient[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    headers: dict[str, str],
    announced: int,
) -> None:
    monkeypatch.setattr(common, "BODY_TIMEOUT_S", 0.3)
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {announced}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * 10)  # then nothing more
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # to EOF: the emulator closed
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"Connection: close" in answer


async def test_a_form_body_beyond_the_size_limit_is_a_413(client: TestClient[Any, Any]) -> None:
    r = await client.post(
        "/accounts.spotify.com/api/token",
        data=b"grant_type=client_credentials&x=" + b"a" * CLIENT_MAX_SIZE,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 413
