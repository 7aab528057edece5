"""Deezer: connect OAuth (no PKCE), HTTP-200 errors, index/limit/next paging, playlist writes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from pm_provider_emulator.http.context import EMULATOR

TOKEN = "demo-deezer-access-token"
API = "/api.deezer.com"
T = {"access_token": TOKEN}


async def test_oauth_code_exchange(client: TestClient[Any, Any]):
    params = {
        "app_id": "pm-dev-deezer",
        "redirect_uri": "http://127.0.0.1:9000/cb",
        "perms": "basic_access,manage_library",
    }
    page = await client.get("/connect.deezer.com/oauth/auth.php", params=params)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', await page.text()))
    r = await client.post(
        "/connect.deezer.com/oauth/auth.php",
        allow_redirects=False,
        data={**fields, "emulator_user": "5000000001"},
    )
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    r = await client.get(
        "/connect.deezer.com/oauth/access_token.php",
        params={"app_id": "pm-dev-deezer", "secret": "pm-dev-deezer-secret", "code": code},
    )
    text = await r.text()
    assert re.fullmatch(r"access_token=\S+&expires=3600", text)
    token = text.split("&")[0].split("=", 1)[1]
    me = await (await client.get(f"{API}/user/me", params={"access_token": token})).json()
    assert me["id"] == 5000000001
    assert me["type"] == "user"
    again = await client.get(
        "/connect.deezer.com/oauth/access_token.php",
        params={"app_id": "pm-dev-deezer", "secret": "pm-dev-deezer-secret", "code": code, "output": "json"},
    )
    assert await again.text() == "wrong code"
    denied = await client.post(
        "/connect.deezer.com/oauth/auth.php",
        allow_redirects=False,
        data={**fields, "emulator_decision": "deny"},
    )
    assert "error_reason=user_denied" in denied.headers["Location"]


async def test_errors_are_http_200(client: TestClient[Any, Any]):
    r = await client.get(f"{API}/user/me")
    assert r.status == 200
    assert (await r.json())["error"]["code"] == 200
    r = await client.get(f"{API}/user/me", params={"access_token": "bad"})
    assert await r.json() == {
        "error": {"type": "OAuthException", "message": "Invalid OAuth access token.", "code": 300}
    }
    r = await client.get(f"{API}/track/1")
    assert await r.json() == {"error": {"type": "DataException", "message": "no data", "code": 800}}


async def test_quota_error_code_4(make_client: Any):
    c = await make_client(rate_limits=True)
    bodies = [await (await c.get(f"{API}/user/me", params=T)).json() for _ in range(51)]
    assert "error" not in bodies[49]
    assert bodies[50] == {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
    c.app[EMULATOR].clock.advance(5)  # type: ignore[attr-defined]
    assert "error" not in await (await c.get(f"{API}/user/me", params=T)).json()


async def test_playlists_tracks_paging_and_isrc(client: TestClient[Any, Any], catalogs: Any):
    r = await (await client.get(f"{API}/user/me/playlists", params=T)).json()
    assert r["total"] == 9
    assert r["data"][0]["is_loved_track"] is True
    assert "next" not in r
    pl = r["data"][1]
    tracks: list[Any] = []
    url: str | None = f"{API}/playlist/{pl['id']}/tracks?access_token={TOKEN}&limit=10"
    calls = 0
    while url:
        page = await (await client.get(url)).json()
        calls += 1
        tracks += page["data"]
        url = page.get("next")
        if url:
            url = "/" + url.split("/", 3)[3] + f"&access_token={TOKEN}"
    assert len(tracks) == pl["nb_tracks"]
    assert calls == -(-pl["nb_tracks"] // 10)
    first = tracks[0]
    assert "isrc" not in first
    assert "time_add" in first
    assert isinstance(first["duration"], int)
    full = await (await client.get(f"{API}/track/{first['id']}")).json()
    if full["isrc"]:
        by_isrc = await (await client.get(f"{API}/track/isrc:{full['isrc']}")).json()
        assert by_isrc["isrc"] == full["isrc"]
    t = next(t for t in catalogs.deezer.values() if t.title_version)
    found = await (
        await client.get(f"{API}/search", params={"q": f'artist:"{t.artists[0]}" track:"{t.title_short}"'})
    ).json()
    assert t.id in [x["id"] for x in found["data"]]
    assert "isrc" not in found["data"][0]


async def test_write_cycle(client: TestClient[Any, Any], catalogs: Any):
    ids = [str(i) for i in sorted(catalogs.deezer)[:30]]
    created = await (await client.post(f"{API}/user/me/playlists", params={**T, "title": "Gym"})).json()
    pid = created["id"]
    assert (
        await (
            await client.post(f"{API}/playlist/{pid}/tracks", params={**T, "songs": ",".join(ids[:20])})
        ).json()
        is True
    )
    dup = await (await client.post(f"{API}/playlist/{pid}/tracks", params={**T, "songs": ids[0]})).json()
    assert dup["error"]["code"] == 500
    assert "already exists" in dup["error"]["message"]
    # request_method override, as browser clients send it
    ok = await (
        await client.get(
            f"{API}/playlist/{pid}/tracks",
            params={**T, "songs": ",".join(ids[20:]), "request_method": "POST"},
        )
    ).json()
    assert ok is True
    order = list(reversed(ids))
    assert (
        await (
            await client.post(f"{API}/playlist/{pid}/tracks", params={**T, "order": ",".join(order)})
        ).json()
        is True
    )
    assert (
        await (await client.delete(f"{API}/playlist/{pid}/tracks", params={**T, "songs": ids[0]})).json()
        is True
    )
    assert (
        await (
            await client.post(f"{API}/playlist/{pid}", params={**T, "title": "Gym 2", "description": "x"})
        ).json()
        is True
    )
    full = await (await client.get(f"{API}/playlist/{pid}", params=T)).json()
    assert full["title"] == "Gym 2"
    assert [str(t["id"]) for t in full["tracks"]["data"]] == order[:-1]
    assert full["nb_tracks"] == 29
    assert full["creator"]["id"] == 5000000001
    assert await (await client.delete(f"{API}/playlist/{pid}", params=T)).json() is True
    gone = await (await client.get(f"{API}/playlist/{pid}", params=T)).json()
    assert gone["error"]["code"] == 800
    assert await (await client.post(f"{API}/user/me/tracks", params={**T, "track_id": ids[1]})).json() is True
    loved = await (await client.get(f"{API}/user/me/tracks", params=T)).json()
    assert loved["data"][0]["id"] == int(ids[1])
