"""10,000-track playlists: read and written in the fewest calls each API allows (counted by the emulator)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from pm_provider_emulator.http.context import EMULATOR

N = 10_000


def path_of(client: TestClient[Any, Any], url: str) -> str:
    return url.split(str(client.make_url("")).rstrip("/"), 1)[1]


async def calls(client: TestClient[Any, Any]) -> dict[str, int]:
    return (await (await client.get("/_admin/calls")).json())["calls"]


async def big_user(client: TestClient[Any, Any], provider: str, size: int = N) -> tuple[str, str]:
    r = await client.post(
        "/_admin/users",
        json={"provider": provider, "library": {"playlists": [{"name": "Big", "size": size}]}},
    )
    body = await r.json()
    return body["tokens"]["access_token"], body["user"]["playlists"][0]["id"]


async def test_spotify_10k_read_200_calls_write_100_calls(client: TestClient[Any, Any], catalogs: Any):
    token, pid = await big_user(client, "spotify")
    h = {"Authorization": f"Bearer {token}"}
    await client.delete("/_admin/calls")
    url: str | None = f"/api.spotify.com/v1/playlists/{pid}/items?limit=50"
    seen = 0
    while url:
        page = await (await client.get(url, headers=h)).json()
        seen += len(page["items"])
        url = path_of(client, page["next"]) if page["next"] else None
    assert seen == N
    assert await calls(client) == {"GET /api.spotify.com/v1/playlists/{playlist_id}/items": 200}
    new = await (
        await client.post("/api.spotify.com/v1/me/playlists", headers=h, json={"name": "copy"})
    ).json()
    uris = [f"spotify:track:{t}" for t in catalogs.spotify_ids_for_size(N)]
    for i in range(0, N, 100):
        r = await client.post(
            f"/api.spotify.com/v1/playlists/{new['id']}/items", headers=h, json={"uris": uris[i : i + 100]}
        )
        assert r.status == 201
    assert (await calls(client))["POST /api.spotify.com/v1/playlists/{playlist_id}/items"] == 100
    assert len(client.app[EMULATOR].store.playlist("spotify", new["id"]).entries) == N


async def test_deezer_10k_read_5_calls_write_20_calls(client: TestClient[Any, Any], catalogs: Any):
    token, pid = await big_user(client, "deezer")
    await client.delete("/_admin/calls")
    url: str | None = f"/api.deezer.com/playlist/{pid}/tracks?limit=2000&access_token={token}"
    seen = 0
    while url:
        page = await (await client.get(url)).json()
        seen += len(page["data"])
        url = path_of(client, page["next"]) + f"&access_token={token}" if "next" in page else None
    assert seen == N
    assert (await calls(client)) == {"GET /api.deezer.com/playlist/{playlist_id}/tracks": 5}
    new = await (
        await client.post(
            "/api.deezer.com/user/me/playlists", params={"access_token": token, "title": "copy"}
        )
    ).json()
    ids = [str(i) for i in sorted(catalogs.deezer)[:N]]
    for i in range(0, N, 500):
        r = await client.post(
            f"/api.deezer.com/playlist/{new['id']}/tracks",
            params={"access_token": token, "songs": ",".join(ids[i : i + 500])},
        )
        assert await r.json() is True
    full = await (
        await client.post(
            f"/api.deezer.com/playlist/{new['id']}/tracks", params={"access_token": token, "songs": ids[-1]}
        )
    ).json()
    assert full["error"]["code"] == 500  # already there (and the playlist is full)
    assert (await calls(client))["POST /api.deezer.com/playlist/{playlist_id}/tracks"] == 21


async def test_tidal_10k_read_500_calls_write_200_calls(client: TestClient[Any, Any], catalogs: Any):
    token, pid = await big_user(client, "tidal")
    h = {"Authorization": f"Bearer {token}"}
    await client.delete("/_admin/calls")
    url: str | None = f"/playlists/{pid}/relationships/items?countryCode=US"
    seen = 0
    while url:
        page = await (await client.get("/openapi.tidal.com/v2" + url, headers=h)).json()
        seen += len(page["data"])
        url = page["links"].get("next")
    assert seen == N
    assert await calls(client) == {
        "GET /openapi.tidal.com/v2/playlists/{playlist_id}/relationships/items": 500
    }
    new = await (
        await client.post(
            "/openapi.tidal.com/v2/playlists",
            headers=h,
            json={"data": {"type": "playlists", "attributes": {"name": "copy"}}},
        )
    ).json()
    ids = sorted(catalogs.tidal)[:N]
    for i in range(0, N, 50):
        r = await client.post(
            f"/openapi.tidal.com/v2/playlists/{new['data']['id']}/relationships/items",
            headers=h,
            json={"data": [{"type": "tracks", "id": t} for t in ids[i : i + 50]]},
        )
        assert r.status == 201
    assert (await calls(client))[
        "POST /openapi.tidal.com/v2/playlists/{playlist_id}/relationships/items"
    ] == 200


async def test_youtube_caps_playlists_at_5000_and_pages_by_50(client: TestClient[Any, Any], catalogs: Any):
    token, pid = await big_user(client, "youtube", 5_000)
    h = {"Authorization": f"Bearer {token}"}
    await client.delete("/_admin/calls")
    page_token: str | None = ""
    seen = 0
    while page_token is not None:
        params = {"part": "contentDetails", "playlistId": pid, "maxResults": 50}
        if page_token:
            params["pageToken"] = page_token
        page = await (
            await client.get("/www.googleapis.com/youtube/v3/playlistItems", headers=h, params=params)
        ).json()
        seen += len(page["items"])
        page_token = page.get("nextPageToken")
    assert seen == 5_000
    assert await calls(client) == {"GET /www.googleapis.com/youtube/v3/playlistItems": 100}
    r = await client.post(
        "/www.googleapis.com/youtube/v3/playlistItems",
        headers=h,
        params={"part": "snippet"},
        json={
            "snippet": {
                "playlistId": pid,
                "resourceId": {"kind": "youtube#video", "videoId": sorted(catalogs.youtube)[0]},
            }
        },
    )
    assert r.status == 403
    assert (await r.json())["error"]["errors"][0]["reason"] == "playlistContainsMaximumNumberOfVideos"
