"""TIDAL: OAuth 2.1 with mandatory PKCE, JSON:API v2 documents, cursors, writes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from pm_provider_emulator.domain.oauth import s256
from pm_provider_emulator.http.context import EMULATOR

H = {"Authorization": "Bearer demo-tidal-access-token"}
API = "/openapi.tidal.com/v2"
VERIFIER = "t" * 64


async def test_pkce_is_mandatory_and_refresh_keeps_the_token(client: TestClient[Any, Any]):
    base = {
        "client_id": "pm-dev-tidal",
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:7000/cb",
        "scope": "user.read playlists.read",
    }
    r = await client.get("/login.tidal.com/authorize", params=base, allow_redirects=False)
    assert r.status == 302
    assert "error=invalid_request" in r.headers["Location"]
    page = await client.get(
        "/login.tidal.com/authorize",
        params={**base, "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"},
    )
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', await page.text()))
    r = await client.post(
        "/login.tidal.com/authorize", data={**fields, "emulator_user": "190000001"}, allow_redirects=False
    )
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    tok = await (
        await client.post(
            "/auth.tidal.com/v1/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": "pm-dev-tidal",
                "code": code,
                "redirect_uri": base["redirect_uri"],
                "code_verifier": VERIFIER,
            },
        )
    ).json()
    assert tok["user_id"] == 190000001
    assert tok["scope"] == "user.read playlists.read"
    ref = await (
        await client.post(
            "/auth.tidal.com/v1/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "pm-dev-tidal",
                "refresh_token": tok["refresh_token"],
            },
        )
    ).json()
    assert "refresh_token" not in ref
    assert ref["access_token"] != tok["access_token"]
    me = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {ref['access_token']}"})
    assert me.headers["Content-Type"].startswith("application/vnd.api+json")
    assert (await me.json())["data"]["attributes"]["username"] == "pmdemo-tidal"


async def test_playlists_and_items_by_cursor(client: TestClient[Any, Any]):
    listing = await (
        await client.get(
            f"{API}/playlists", headers=H, params={"filter[owners.id]": "me", "countryCode": "US"}
        )
    ).json()
    assert len(listing["data"]) == 6
    assert "next" not in listing["links"]
    big = max(listing["data"], key=lambda p: p["attributes"]["numberOfItems"])
    url: str | None = f"/playlists/{big['id']}/relationships/items?countryCode=US&include=items.artists"
    data: list[Any] = []
    included: dict[str, Any] = {}
    calls = 0
    while url:
        page = await (await client.get(API + url, headers=H)).json()
        calls += 1
        data += page["data"]
        included.update({f"{r['type']}:{r['id']}": r for r in page["included"]})
        url = page["links"].get("next")
        if url:
            assert page["links"]["meta"]["nextCursor"] in url
    n = big["attributes"]["numberOfItems"]
    assert len(data) == n
    assert calls == -(-n // 20)
    item = data[0]
    assert item["type"] == "tracks"
    assert set(item["meta"]) == {"itemId", "addedAt"}
    track = included[f"tracks:{item['id']}"]
    assert re.fullmatch(r"PT(\d+M)?(\d+S)?", track["attributes"]["duration"])
    artist_ref = track["relationships"]["artists"]["data"][0]
    assert f"artists:{artist_ref['id']}" in included


async def test_errors_and_filters(client: TestClient[Any, Any], catalogs: Any):
    r = await client.get(f"{API}/users/me")
    assert r.status == 401
    assert (await r.json())["errors"][0]["status"] == "401"
    r = await client.get(f"{API}/tracks", headers=H, params={"filter[nope]": "x"})
    err = (await r.json())["errors"][0]
    assert r.status == 400
    assert err["source"] == {"parameter": "filter[nope]"}
    t = next(t for t in catalogs.tidal.values() if t.isrc)
    r = await (
        await client.get(
            f"{API}/tracks", headers=H, params={"filter[isrc]": t.isrc, "include": "artists,albums"}
        )
    ).json()
    assert t.id in [d["id"] for d in r["data"]]
    assert {x["type"] for x in r["included"]} == {
        "artists",
        "albums",
    }
    s = await (
        await client.get(f"{API}/searchResults/{t.title}", headers=H, params={"include": "tracks"})
    ).json()
    assert t.id in [d["id"] for d in s["data"]["relationships"]["tracks"]["data"]]


async def test_write_cycle_with_idempotency(client: TestClient[Any, Any], catalogs: Any):
    ids = sorted(catalogs.tidal)[:60]
    body = {
        "data": {
            "type": "playlists",
            "attributes": {"name": "Gym", "description": "", "accessType": "UNLISTED"},
        }
    }
    r = await client.post(f"{API}/playlists", headers={**H, "Idempotency-Key": "k1"}, json=body)
    assert r.status == 201
    pid = (await r.json())["data"]["id"]
    replay = await client.post(f"{API}/playlists", headers={**H, "Idempotency-Key": "k1"}, json=body)
    assert replay.status == 201
    assert (await replay.json())["data"]["id"] == pid
    changed = await client.post(
        f"{API}/playlists",
        headers={**H, "Idempotency-Key": "k1"},
        json={"data": {"type": "playlists", "attributes": {"name": "Other"}}},
    )
    assert changed.status == 422
    too_many = await client.post(
        f"{API}/playlists/{pid}/relationships/items",
        headers=H,
        json={"data": [{"type": "tracks", "id": i} for i in ids[:51]]},
    )
    assert too_many.status == 400
    r = await client.post(
        f"{API}/playlists/{pid}/relationships/items",
        headers=H,
        json={"data": [{"type": "tracks", "id": i} for i in ids[:50]] + []},
    )
    assert r.status == 201
    r = await client.post(
        f"{API}/playlists/{pid}/relationships/items",
        headers=H,
        json={"data": [{"type": "tracks", "id": i} for i in ids[50:]] + [{"type": "tracks", "id": "1"}]},
    )
    assert (await r.json())["meta"]["skipped"] == [{"id": "1", "type": "tracks", "reason": "NOT_FOUND"}]
    pl = client.app[EMULATOR].store.playlist("tidal", pid)
    assert [x.track_id for x in pl.entries] == ids
    last, first = pl.entries[-1], pl.entries[0]
    r = await client.patch(
        f"{API}/playlists/{pid}/relationships/items",
        headers=H,
        json={
            "data": [{"type": "tracks", "id": last.track_id, "meta": {"itemId": last.item_id}}],
            "meta": {"positionBefore": first.item_id},
        },
    )
    assert r.status == 204
    assert pl.entries[0].track_id == ids[-1]
    r = await client.delete(
        f"{API}/playlists/{pid}/relationships/items",
        headers=H,
        json={"data": [{"type": "tracks", "id": ids[-1], "meta": {"itemId": last.item_id}}]},
    )
    assert r.status == 204
    assert len(pl.entries) == 59
    r = await client.patch(
        f"{API}/playlists/{pid}",
        headers=H,
        json={"data": {"type": "playlists", "id": pid, "attributes": {"name": "Gym 2"}}},
    )
    assert r.status == 204
    assert pl.name == "Gym 2"
    assert (await client.delete(f"{API}/playlists/{pid}", headers=H)).status == 204
    assert (await client.get(f"{API}/playlists/{pid}", headers=H)).status == 404
    r = await client.post(
        f"{API}/userCollectionTracks/me/relationships/items",
        headers=H,
        json={"data": [{"type": "tracks", "id": ids[0]}]},
    )
    assert r.status == 204
    liked = await (await client.get(f"{API}/userCollectionTracks/me/relationships/items", headers=H)).json()
    assert liked["data"][0]["id"] == ids[0]


async def test_rate_limit_headers_and_429(make_client: Any):
    c = await make_client(rate_limits=True)
    c.app[EMULATOR].limits.configure("tidal", {"capacity": 2, "refill_per_s": 1, "cost": 1})
    r = await c.get(f"{API}/users/me", headers=H)
    assert r.headers["x-ratelimit-remaining"] == "1"
    assert r.headers["x-ratelimit-burst-capacity"] == "2"
    await c.get(f"{API}/users/me", headers=H)
    r = await c.get(f"{API}/users/me", headers=H)
    assert r.status == 429
    assert await r.json() == {"errors": [{"status": "429", "detail": "Rate limit exceeded"}]}


async def test_cover_art_is_included_on_request(client: TestClient[Any, Any]):
    listing = await (
        await client.get(f"{API}/playlists", headers=H, params={"filter[owners.id]": "me"})
    ).json()
    pid = listing["data"][0]["id"]
    assert "data" not in listing["data"][0]["relationships"]["coverArt"]  # only when included
    body = await (
        await client.get(f"{API}/playlists/{pid}", headers=H, params={"include": "coverArt"})
    ).json()
    ref = body["data"]["relationships"]["coverArt"]["data"][0]
    assert ref["type"] == "artworks"
    art = next(r for r in body["included"] if (r["type"], r["id"]) == ("artworks", ref["id"]))
    files = art["attributes"]["files"]
    assert art["attributes"]["mediaType"] == "IMAGE"
    assert files[0]["meta"] == {"height": 1080, "width": 1080}
    assert files[0]["href"].startswith("https://resources.tidal.com/images/")
    assert files[0]["href"].endswith("/1080x1080.jpg")
    owned = await (
        await client.get(
            f"{API}/playlists", headers=H, params={"filter[owners.id]": "me", "include": "coverArt"}
        )
    ).json()
    assert sum(r["type"] == "artworks" for r in owned["included"]) == len(owned["data"])
    collection = await (
        await client.get(
            f"{API}/userCollectionPlaylists/me/relationships/items",
            headers=H,
            params={"include": "items,items.coverArt", "collectionView": "FLAT"},
        )
    ).json()
    kinds = [r["type"] for r in collection["included"]]
    assert kinds.count("playlists") == kinds.count("artworks") == len(collection["data"])
    plain = await (
        await client.get(
            f"{API}/userCollectionPlaylists/me/relationships/items", headers=H, params={"include": "items"}
        )
    ).json()
    assert {r["type"] for r in plain["included"]} == {"playlists"}


async def test_last_modified_moves_with_every_change_even_on_a_stopped_clock(
    client: TestClient[Any, Any], catalogs: Any
):
    """``lastModifiedAt`` (to the millisecond) is later after each change of the items, though the
    manual clock stands still; reading leaves it as it was."""
    ids = sorted(catalogs.tidal)[:3]
    body = {"data": {"type": "playlists", "attributes": {"name": "Marks"}}}
    pid = (await (await client.post(f"{API}/playlists", headers=H, json=body)).json())["data"]["id"]

    async def mark() -> str:
        got = await (await client.get(f"{API}/playlists/{pid}", headers=H)).json()
        value: str = got["data"]["attributes"]["lastModifiedAt"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value)
        return value

    marks = [await mark()]
    items = f"{API}/playlists/{pid}/relationships/items"
    await client.post(items, headers=H, json={"data": [{"type": "tracks", "id": i} for i in ids]})
    marks.append(await mark())
    assert await mark() == marks[-1]
    pl = client.app[EMULATOR].store.playlist("tidal", pid)
    last, first = pl.entries[-1], pl.entries[0]
    await client.patch(
        items,
        headers=H,
        json={
            "data": [{"type": "tracks", "id": last.track_id, "meta": {"itemId": last.item_id}}],
            "meta": {"positionBefore": first.item_id},
        },
    )
    marks.append(await mark())
    await client.delete(
        items,
        headers=H,
        json={"data": [{"type": "tracks", "id": first.track_id, "meta": {"itemId": first.item_id}}]},
    )
    marks.append(await mark())
    assert marks == sorted(set(marks))  # four different times, each later
