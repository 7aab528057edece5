"""Spotify: accounts (code + PKCE, refresh rotation, client credentials) and the Web API surface."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from pm_provider_emulator.domain.clock import ManualClock
from pm_provider_emulator.domain.oauth import s256
from pm_provider_emulator.http.context import EMULATOR

TOKEN = "demo-spotify-access-token"
H = {"Authorization": f"Bearer {TOKEN}"}
API = "/api.spotify.com/v1"
VERIFIER = "v" * 43 + "-._~abc"
REDIRECT = "http://127.0.0.1:8888/callback"


async def authorize(
    client: TestClient[Any, Any],
    *,
    user: str = "pmdemo.spotify",
    scope: str = "playlist-read-private playlist-modify-private",
) -> str:
    params = {
        "client_id": "pm-dev-spotify",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge_method": "S256",
        "code_challenge": s256(VERIFIER),
        "scope": scope,
        "state": "xyz",
    }
    page = await client.get("/accounts.spotify.com/authorize", params=params)
    assert page.status == 200
    html = await page.text()
    assert 'id="consent"' in html
    assert "playlist-read-private" in html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    fields.update({"emulator_user": user, "emulator_decision": "approve"})
    resp = await client.post("/accounts.spotify.com/authorize", data=fields, allow_redirects=False)
    assert resp.status == 302
    q = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert q["state"] == ["xyz"]
    return q["code"][0]


async def test_pkce_flow_refresh_rotation_and_expiry(client: TestClient[Any, Any]):
    clock: ManualClock = client.app[EMULATOR].clock  # type: ignore[assignment]
    code = await authorize(client)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "pm-dev-spotify",
    }
    bad = await client.post("/accounts.spotify.com/api/token", data={**form, "code_verifier": "w" * 50})
    assert bad.status == 400
    assert (await bad.json())["error"] == "invalid_grant"
    code = await authorize(client)
    ok = await client.post(
        "/accounts.spotify.com/api/token", data={**form, "code": code, "code_verifier": VERIFIER}
    )
    tokens = await ok.json()
    assert ok.status == 200
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    reused = await client.post(
        "/accounts.spotify.com/api/token", data={**form, "code": code, "code_verifier": VERIFIER}
    )
    assert (await reused.json())["error"] == "invalid_grant"
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (await me.json())["id"] == "pmdemo.spotify"
    clock.advance(3600)
    expired = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert expired.status == 401
    assert await expired.json() == {"error": {"status": 401, "message": "The access token expired"}}
    refreshed = await client.post(
        "/accounts.spotify.com/api/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "pm-dev-spotify",
        },
    )
    new = await refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]  # PKCE refresh tokens rotate
    again = await client.post(
        "/accounts.spotify.com/api/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "pm-dev-spotify",
        },
    )
    assert again.status == 400
    assert (await again.json())["error"] == "invalid_grant"
    clock.advance(183 * 86_400)  # 6 months after consent, refreshing no longer works
    dead = await client.post(
        "/accounts.spotify.com/api/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": new["refresh_token"],
            "client_id": "pm-dev-spotify",
        },
    )
    assert (await dead.json())["error_description"] == "Refresh token expired"


async def test_authorize_rejects_localhost_and_unknown_clients(client: TestClient[Any, Any]):
    base = {
        "client_id": "pm-dev-spotify",
        "response_type": "code",
        "code_challenge_method": "S256",
        "code_challenge": s256(VERIFIER),
    }
    r = await client.get(
        "/accounts.spotify.com/authorize", params={**base, "redirect_uri": "http://localhost:8888/cb"}
    )
    assert r.status == 400
    assert "Insecure redirect URI" in await r.text()
    r = await client.get(
        "/accounts.spotify.com/authorize", params={**base, "client_id": "nope", "redirect_uri": REDIRECT}
    )
    assert r.status == 400
    assert "INVALID_CLIENT" in await r.text()
    r = await client.get(
        "/accounts.spotify.com/authorize",
        params={**base, "response_type": "token", "redirect_uri": REDIRECT},
        allow_redirects=False,
    )
    assert r.status == 302
    assert "error=unsupported_response_type" in r.headers["Location"]


async def test_denied_consent_and_client_credentials(client: TestClient[Any, Any]):
    resp = await client.post(
        "/accounts.spotify.com/authorize",
        allow_redirects=False,
        data={
            "client_id": "pm-dev-spotify",
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "state": "s",
            "emulator_decision": "deny",
        },
    )
    assert resp.headers["Location"] == f"{REDIRECT}?error=access_denied&state=s"
    basic = "Basic " + base64.b64encode(b"pm-dev-spotify:pm-dev-spotify-secret").decode()
    cc = await client.post(
        "/accounts.spotify.com/api/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic},
    )
    token = (await cc.json())["access_token"]
    search = await client.get(
        f"{API}/search", params={"q": "love", "type": "track"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert search.status == 200
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 401
    wrong = await client.post(
        "/accounts.spotify.com/api/token",
        data={"grant_type": "client_credentials", "client_id": "pm-dev-spotify", "client_secret": "wrong"},
    )
    assert (await wrong.json())["error"] == "invalid_client"


async def test_errors_have_spotify_shape(client: TestClient[Any, Any]):
    r = await client.get(f"{API}/me")
    assert r.status == 401
    assert await r.json() == {"error": {"status": 401, "message": "No token provided"}}
    r = await client.get(f"{API}/me", headers={"Authorization": "Bearer nope"})
    assert (await r.json())["error"]["message"] == "Invalid access token"
    r = await client.get(f"{API}/playlists/0000000000000000000000", headers=H)
    assert r.status == 404
    assert (await r.json())["error"]["status"] == 404
    r = await client.get(f"{API}/me/playlists?limit=51", headers=H)
    assert r.status == 400
    assert (await r.json())["error"]["message"] == "Invalid limit"


async def test_me_current_and_legacy(make_client: Any):
    cur = await make_client()
    body = await (await cur.get(f"{API}/me", headers=H)).json()
    assert "account_id" in body
    assert "email" not in body
    assert "country" not in body
    legacy = await make_client(spotify_mode="legacy")
    body = await (await legacy.get(f"{API}/me", headers=H)).json()
    assert body["email"] == "demo.spotify@example.org"
    assert body["country"] == "GB"
    assert body["product"] == "premium"


async def read_all(client: TestClient[Any, Any], url: str) -> tuple[list[Any], int]:
    items, calls = [], 0
    while url:
        r = await client.get(url, headers=H)
        assert r.status == 200, await r.text()
        page = await r.json()
        calls += 1
        items += page["items"]
        url = page["next"]
        if url:
            url = url.split(str(client.make_url("")).rstrip("/"), 1)[1]
    return items, calls


async def test_library_pages_and_items_in_order(client: TestClient[Any, Any]):
    e = client.app[EMULATOR]
    playlists, calls = await read_all(client, f"{API}/me/playlists?limit=3")
    assert len(playlists) == 11
    assert calls == 4
    followed = [p for p in playlists if p["owner"]["id"] != "pmdemo.spotify"]
    assert len(followed) == 1
    assert followed[0]["owner"]["id"] == "spotify"
    own = playlists[0]
    assert own["items"]["total"] == own["tracks"]["total"] > 0
    items, _ = await read_all(client, f"{API}/playlists/{own['id']}/items?limit=7&market=GB")
    pl = e.store.playlist("spotify", own["id"])
    assert [i["item"]["id"] for i in items] == [x.track_id for x in pl.entries]
    first = items[0]
    assert first["track"] == first["item"]
    track = first["item"]
    assert track["external_ids"].get("isrc") or track["external_ids"] == {}
    assert {
        "duration_ms",
        "explicit",
        "album",
        "artists",
        "is_playable",
        "disc_number",
        "track_number",
    } <= set(track)
    # the followed editorial playlist: metadata yes, items no (2026 development mode)
    r = await client.get(f"{API}/playlists/{followed[0]['id']}/items", headers=H)
    assert r.status == 403
    liked, _ = await read_all(client, f"{API}/me/tracks?limit=50")
    assert len(liked) == 150
    assert liked[0]["added_at"] >= liked[-1]["added_at"]


async def test_write_cycle(client: TestClient[Any, Any], catalogs: Any):
    ids = sorted(catalogs.spotify)[:250]
    r = await client.post(
        f"{API}/me/playlists", headers=H, json={"name": "Gym", "description": "d", "public": False}
    )
    assert r.status == 201
    pl = await r.json()
    pid = pl["id"]
    assert pl["public"] is False
    assert pl["owner"]["id"] == "pmdemo.spotify"
    too_many = await client.post(
        f"{API}/playlists/{pid}/items", headers=H, json={"uris": [f"spotify:track:{i}" for i in ids[:101]]}
    )
    assert too_many.status == 400
    snapshots = set()
    for start in range(0, 250, 100):
        r = await client.post(
            f"{API}/playlists/{pid}/items",
            headers=H,
            json={"uris": [f"spotify:track:{i}" for i in ids[start : start + 100]]},
        )
        assert r.status == 201
        snapshots.add((await r.json())["snapshot_id"])
    assert len(snapshots) == 3
    r = await client.post(
        f"{API}/playlists/{pid}/items?position=0", headers=H, json=[f"spotify:track:{ids[-1]}"]
    )
    assert r.status == 201
    r = await client.put(
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"range_start": 0, "insert_before": 251, "range_length": 1},
    )
    assert r.status == 200
    e = client.app[EMULATOR]
    entries = e.store.playlist("spotify", pid).entries
    assert [x.track_id for x in entries][:2] == ids[:2]
    assert entries[-1].track_id == ids[-1]
    assert len(entries) == 251
    r = await client.request(
        "DELETE",
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"items": [{"uri": f"spotify:track:{ids[-1]}"}], "snapshot_id": snapshots.pop()},
    )
    assert r.status == 200
    assert len(e.store.playlist("spotify", pid).entries) == 249
    r = await client.request(
        "DELETE",
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"items": [{"uri": f"spotify:track:{ids[0]}", "positions": [0]}]},
    )
    assert r.status == 200
    assert e.store.playlist("spotify", pid).entries[0].track_id == ids[1]
    r = await client.put(
        f"{API}/playlists/{pid}/items", headers=H, json={"uris": [f"spotify:track:{ids[5]}"]}
    )
    assert r.status == 200
    assert [x.track_id for x in e.store.playlist("spotify", pid).entries] == [ids[5]]
    r = await client.put(f"{API}/playlists/{pid}", headers=H, json={"name": "Gym 2", "description": "new"})
    assert r.status == 200
    body = await (
        await client.get(f"{API}/playlists/{pid}?fields=name,description,items(total)", headers=H)
    ).json()
    assert body == {"name": "Gym 2", "description": "new", "items": {"total": 1}}
    r = await client.delete(f"{API}/playlists/{pid}/followers", headers=H)
    assert r.status == 200
    # Spotify has no deletion: the owner's unfollow leaves the playlist readable by id
    assert (await client.get(f"{API}/playlists/{pid}", headers=H)).status == 200
    mine = await (await client.get(f"{API}/me/playlists", headers=H, params={"limit": 50})).json()
    assert pid not in [p["id"] for p in mine["items"]]
    bad = await client.post(
        f"{API}/playlists/{followed_id(e)}/items", headers=H, json={"uris": [f"spotify:track:{ids[0]}"]}
    )
    assert bad.status == 403


def followed_id(e: Any) -> str:
    return next(p.id for p in e.store.playlists["spotify"].values() if p.owner_id == "spotify")


async def test_library_save_and_search(client: TestClient[Any, Any], catalogs: Any):
    t = next(t for t in catalogs.spotify.values() if t.isrc and len(t.artists) == 1)
    r = await client.put(f"{API}/me/library?uris=spotify:track:{t.id}", headers=H)
    assert r.status == 200
    r = await client.get(
        f"{API}/me/library/contains?uris=spotify:track:{t.id},spotify:track:{sorted(catalogs.spotify)[-1]}",
        headers=H,
    )
    assert (await r.json())[0] is True
    r = await client.put(f"{API}/me/tracks?ids={t.id}", headers=H)
    assert r.status == 403  # removed for development-mode apps in 2026
    r = await client.get(f"{API}/search", headers=H, params={"q": f"isrc:{t.isrc}", "type": "track"})
    found = (await r.json())["tracks"]
    assert t.id in [i["id"] for i in found["items"]]
    assert found["limit"] == 5
    q = f'track:"{t.name}" artist:"{t.artists[0]}"'
    r = await client.get(f"{API}/search", headers=H, params={"q": q, "type": "track", "limit": 10})
    assert t.id in [i["id"] for i in (await r.json())["tracks"]["items"]]
    r = await client.get(f"{API}/search", headers=H, params={"q": "love", "type": "track", "limit": 11})
    assert r.status == 400  # limit max 10 since Feb 2026


async def test_legacy_tracks_endpoint(make_client: Any):
    c = await make_client(spotify_mode="legacy")
    e = c.app[EMULATOR]
    pid = e.store.users["spotify"]["pmdemo.spotify"].playlist_ids[0]
    r = await c.get(f"{API}/playlists/{pid}/tracks?limit=100", headers=H)
    page = await r.json()
    assert r.status == 200
    assert "item" not in page["items"][0]
    assert "popularity" in page["items"][0]["track"]
    assert (await c.get(f"{API}/playlists/{pid}/items", headers=H)).status == 404
    full = await (await c.get(f"{API}/playlists/{pid}", headers=H)).json()
    assert "items" not in full
    assert full["tracks"]["total"] == len(e.store.playlist("spotify", pid).entries)
    cur = await make_client()
    assert (await cur.get(f"{API}/playlists/{pid}/tracks", headers=H)).status == 403


async def test_positions_refer_to_the_given_snapshot(client: TestClient[Any, Any], catalogs: Any):
    a, b, c, d = sorted(catalogs.spotify)[:4]
    pid = (await (await client.post(f"{API}/me/playlists", headers=H, json={"name": "snap"})).json())["id"]
    r = await client.post(
        f"{API}/playlists/{pid}/items", headers=H, json={"uris": [f"spotify:track:{t}" for t in (a, b, c, d)]}
    )
    s1 = (await r.json())["snapshot_id"]
    r = await client.request(
        "DELETE",
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"items": [{"uri": f"spotify:track:{a}", "positions": [0]}], "snapshot_id": s1},
    )
    assert r.status == 200
    # B is at index 0 now, but index 1 in s1
    r = await client.request(
        "DELETE",
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"items": [{"uri": f"spotify:track:{b}", "positions": [1]}], "snapshot_id": s1},
    )
    assert r.status == 200
    r = await client.put(
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"range_start": 3, "insert_before": 2, "snapshot_id": s1},
    )  # D before C, s1 indexes
    assert r.status == 200
    pl = client.app[EMULATOR].store.playlist("spotify", pid)
    assert [x.track_id for x in pl.entries] == [d, c]
    r = await client.request(
        "DELETE",
        f"{API}/playlists/{pid}/items",
        headers=H,
        json={"items": [{"uri": f"spotify:track:{c}"}], "snapshot_id": "bm90LWEtc25hcHNob3Q="},
    )
    assert r.status == 400
