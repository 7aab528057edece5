"""YouTube Data API v3 and Google OAuth: pageToken paging, one-video inserts, quota errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from pm_provider_emulator.domain.oauth import s256
from pm_provider_emulator.http.context import EMULATOR

H = {"Authorization": "Bearer ya29.demo-youtube-access-token"}
API = "/www.googleapis.com/youtube/v3"
CLIENT = "pm-dev-youtube.apps.googleusercontent.com"


async def test_google_oauth_offline_and_refresh(client: TestClient[Any, Any]):
    params = {
        "client_id": CLIENT,
        "redirect_uri": "http://127.0.0.1:5000/cb",
        "response_type": "code",
        "scope": "https://www.googleapis.com/auth/youtube",
        "access_type": "offline",
        "state": "s",
        "code_challenge": s256("y" * 50),
        "code_challenge_method": "S256",
    }
    page = await client.get("/accounts.google.com/o/oauth2/v2/auth", params=params)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', await page.text()))
    r = await client.post("/accounts.google.com/o/oauth2/v2/auth", data=fields, allow_redirects=False)
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT,
        "client_secret": "pm-dev-youtube-secret",
        "redirect_uri": params["redirect_uri"],
        "code_verifier": "y" * 50,
    }
    tok = await (await client.post("/oauth2.googleapis.com/token", data=form)).json()
    assert tok["expires_in"] == 3599
    assert tok["refresh_token"]
    ref = await (
        await client.post(
            "/oauth2.googleapis.com/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tok["refresh_token"],
                "client_id": CLIENT,
                "client_secret": "pm-dev-youtube-secret",
            },
        )
    ).json()
    assert "refresh_token" not in ref
    bad = await client.post("/oauth2.googleapis.com/token", data={**form, "client_secret": "x"})
    assert bad.status == 401
    assert await bad.json() == {
        "error": "invalid_client",
        "error_description": "Unauthorized",
    }


async def test_playlists_items_paging(client: TestClient[Any, Any]):
    mine = await (
        await client.get(
            f"{API}/playlists",
            headers=H,
            params={"part": "snippet,contentDetails,status", "mine": "true", "maxResults": 50},
        )
    ).json()
    assert mine["kind"] == "youtube#playlistListResponse"
    assert mine["pageInfo"]["totalResults"] == 6
    pl = max(mine["items"], key=lambda p: p["contentDetails"]["itemCount"])
    items: list[Any] = []
    token: str | None = ""
    calls = 0
    while token is not None:
        params = {"part": "snippet,contentDetails", "playlistId": pl["id"], "maxResults": 10}
        if token:
            params["pageToken"] = token
        page = await (await client.get(f"{API}/playlistItems", headers=H, params=params)).json()
        calls += 1
        items += page["items"]
        token = page.get("nextPageToken")
    n = pl["contentDetails"]["itemCount"]
    assert len(items) == n
    assert calls == -(-n // 10)
    assert [i["snippet"]["position"] for i in items] == list(range(n))
    assert items[0]["contentDetails"]["videoId"] == items[0]["snippet"]["resourceId"]["videoId"]
    r = await client.get(f"{API}/playlistItems", headers=H, params={"playlistId": pl["id"]})
    assert r.status == 400
    assert (await r.json())["error"]["errors"][0]["reason"] == "required"


async def test_write_cycle(client: TestClient[Any, Any], catalogs: Any):
    vids = sorted(catalogs.youtube)[:3]
    created = await (
        await client.post(
            f"{API}/playlists",
            headers=H,
            params={"part": "snippet,status"},
            json={"snippet": {"title": "Gym", "description": "d"}, "status": {"privacyStatus": "private"}},
        )
    ).json()
    pid = created["id"]
    assert pid.startswith("PL")
    assert created["status"]["privacyStatus"] == "private"
    ids = []
    for v in vids:
        item = await (
            await client.post(
                f"{API}/playlistItems",
                headers=H,
                params={"part": "snippet"},
                json={"snippet": {"playlistId": pid, "resourceId": {"kind": "youtube#video", "videoId": v}}},
            )
        ).json()
        ids.append(item["id"])
    moved = await (
        await client.put(
            f"{API}/playlistItems",
            headers=H,
            params={"part": "snippet"},
            json={
                "id": ids[2],
                "snippet": {
                    "playlistId": pid,
                    "resourceId": {"kind": "youtube#video", "videoId": vids[2]},
                    "position": 0,
                },
            },
        )
    ).json()
    assert moved["snippet"]["position"] == 0
    assert (await client.delete(f"{API}/playlistItems", headers=H, params={"id": ids[0]})).status == 204
    pl = client.app[EMULATOR].store.playlist("youtube", pid)
    assert [x.track_id for x in pl.entries] == [vids[2], vids[1]]
    missing = await client.post(
        f"{API}/playlistItems",
        headers=H,
        params={"part": "snippet"},
        json={
            "snippet": {"playlistId": pid, "resourceId": {"kind": "youtube#video", "videoId": "00000000000"}}
        },
    )
    assert missing.status == 404
    assert (await missing.json())["error"]["errors"][0]["reason"] == "videoNotFound"
    assert (await client.delete(f"{API}/playlists", headers=H, params={"id": pid})).status == 204
    r = await client.get(f"{API}/playlistItems", headers=H, params={"part": "id", "playlistId": pid})
    assert r.status == 404
    assert (await r.json())["error"]["errors"][0]["reason"] == "playlistNotFound"


async def test_search_quota_and_videos(make_client: Any, catalogs: Any):
    c = await make_client(rate_limits=True)
    c.app[EMULATOR].limits.configure("youtube", {"search_calls_per_day": 2})
    v = next(v for v in catalogs.youtube.values() if v.channel_title.endswith(" - Topic"))
    r = await (
        await c.get(
            f"{API}/search",
            headers=H,
            params={"part": "snippet", "q": v.title, "type": "video", "maxResults": 50},
        )
    ).json()
    assert v.id in [i["id"]["videoId"] for i in r["items"]]
    await c.get(f"{API}/search", headers=H, params={"part": "snippet", "q": "love", "type": "video"})
    r = await c.get(f"{API}/search", headers=H, params={"part": "snippet", "q": "love", "type": "video"})
    err = await r.json()
    assert r.status == 403
    assert err["error"]["errors"][0] == {
        "message": err["error"]["message"],
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }
    vids = await (
        await c.get(f"{API}/videos", headers=H, params={"part": "contentDetails", "id": v.id})
    ).json()
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", vids["items"][0]["contentDetails"]["duration"])
    c.app[EMULATOR].clock.advance(86_400)  # type: ignore[attr-defined]
    assert (await c.get(f"{API}/search", headers=H, params={"part": "snippet", "q": "love"})).status == 200


async def test_units_quota_counts_writes_at_50(make_client: Any):
    c = await make_client(rate_limits=True)
    c.app[EMULATOR].limits.configure("youtube", {"units_per_day": 101})
    for _ in range(2):
        r = await c.post(
            f"{API}/playlists", headers=H, params={"part": "snippet"}, json={"snippet": {"title": "x"}}
        )
        assert r.status == 200
    assert (await c.get(f"{API}/playlists", headers=H, params={"part": "id", "mine": "true"})).status == 200
    assert (await c.get(f"{API}/playlists", headers=H, params={"part": "id", "mine": "true"})).status == 403


async def _get_playlist(client: TestClient[Any, Any], pid: str, parts: str = "snippet,contentDetails,status"):
    body = await (await client.get(f"{API}/playlists", headers=H, params={"part": parts, "id": pid})).json()
    return body["items"][0]


async def test_playlist_etag_versions_the_resource_not_its_items(client: TestClient[Any, Any], catalogs: Any):
    """YouTube's etag is that of the playlist resource (title, description, privacy, item count,
    thumbnail = the first video): adds, removals and a new first video move it; a move behind the
    first video does not, nor does reading; another set of parts is another representation."""
    vids = sorted(catalogs.youtube)[:3]
    created = await (
        await client.post(
            f"{API}/playlists",
            headers=H,
            params={"part": "snippet,status"},
            json={"snippet": {"title": "Marks"}, "status": {"privacyStatus": "private"}},
        )
    ).json()
    pid = created["id"]
    empty = await _get_playlist(client, pid)
    assert {t["url"] for t in empty["snippet"]["thumbnails"].values()} == {
        "https://i.ytimg.com/img/no_thumbnail.jpg"
    }
    marks = [empty["etag"]]
    items = []
    for v in vids:
        item = await (
            await client.post(
                f"{API}/playlistItems",
                headers=H,
                params={"part": "snippet"},
                json={"snippet": {"playlistId": pid, "resourceId": {"kind": "youtube#video", "videoId": v}}},
            )
        ).json()
        items.append(item["id"])
        marks.append((await _get_playlist(client, pid))["etag"])
    assert len(set(marks)) == 4  # every add changes the count
    full = await _get_playlist(client, pid)
    assert full["etag"] == (await _get_playlist(client, pid))["etag"]  # reading changes nothing
    mine = await (
        await client.get(
            f"{API}/playlists", headers=H, params={"part": "snippet,contentDetails,status", "mine": "true"}
        )
    ).json()
    assert next(p["etag"] for p in mine["items"] if p["id"] == pid) == full["etag"]
    assert (await _get_playlist(client, pid, "snippet"))["etag"] != full["etag"]
    assert full["snippet"]["thumbnails"]["maxres"] == {
        "url": f"https://i.ytimg.com/vi/{vids[0]}/maxresdefault.jpg",
        "width": 1280,
        "height": 720,
    }

    async def move(item: str, video: str, position: int) -> None:
        body = {
            "id": item,
            "snippet": {
                "playlistId": pid,
                "resourceId": {"kind": "youtube#video", "videoId": video},
                "position": position,
            },
        }
        r = await client.put(f"{API}/playlistItems", headers=H, params={"part": "snippet"}, json=body)
        assert r.status == 200

    await move(items[2], vids[2], 1)  # behind the first video: the resource is as it was
    assert (await _get_playlist(client, pid))["etag"] == full["etag"]
    await move(items[2], vids[2], 0)  # a new first video, a new thumbnail
    first_moved = (await _get_playlist(client, pid))["etag"]
    assert first_moved != full["etag"]
    assert (await client.delete(f"{API}/playlistItems", headers=H, params={"id": items[1]})).status == 204
    removed = (await _get_playlist(client, pid))["etag"]
    assert removed != first_moved
    await client.put(
        f"{API}/playlists",
        headers=H,
        params={"part": "snippet"},
        json={"id": pid, "snippet": {"title": "Renamed"}},
    )
    assert (await _get_playlist(client, pid))["etag"] != removed
