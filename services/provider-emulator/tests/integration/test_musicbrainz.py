"""MusicBrainz ws/2: ISRC and recording lookups, search, User-Agent and 1 req/s."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from pm_provider_emulator.http.context import EMULATOR

UA = {"User-Agent": "PlaylistManagerTests/0.1 ( https://example.org/contact )"}
WS = "/musicbrainz.org/ws/2"


async def test_isrc_and_recording_lookup(client: TestClient[Any, Any], catalogs: Any):
    m = next(m for m in catalogs.musicbrainz.values() if len(m.artist_credit) > 1)
    r = await (
        await client.get(
            f"{WS}/isrc/{m.isrcs[0]}", params={"fmt": "json", "inc": "artists+releases"}, headers=UA
        )
    ).json()
    assert r["isrc"] == m.isrcs[0]
    rec = next(x for x in r["recordings"] if x["id"] == m.id)
    assert rec["artist-credit"][0]["joinphrase"] == " feat. "
    assert rec["releases"][0]["title"] == m.release_title
    r = await (
        await client.get(f"{WS}/recording/{m.id}", params={"fmt": "json", "inc": "isrcs+artists"}, headers=UA)
    ).json()
    assert r["isrcs"] == list(m.isrcs)
    assert r["length"] == m.length
    missing = next(rec.isrc for rec in catalogs.recordings.values() if rec.isrc not in catalogs.mb_by_isrc)
    r = await client.get(f"{WS}/isrc/{missing}", params={"fmt": "json"}, headers=UA)
    assert r.status == 404
    assert (await r.json())["error"] == "Not Found"


async def test_search(client: TestClient[Any, Any], catalogs: Any):
    m = next(m for m in catalogs.musicbrainz.values() if m.length and " " in m.title)
    artist = m.artist_credit[0][0].replace('"', "")
    lo, hi = m.length - 3000, m.length + 3000
    q = f'recording:"{m.title}" AND artist:"{artist}" AND dur:[{lo} TO {hi}]'
    r = await (
        await client.get(f"{WS}/recording", params={"query": q, "fmt": "json", "limit": 5}, headers=UA)
    ).json()
    assert m.id in [x["id"] for x in r["recordings"]]
    assert r["recordings"][0]["score"] == 100
    assert "created" in r


async def test_user_agent_and_rate_limit(make_client: Any, catalogs: Any):
    c = await make_client(rate_limits=True)
    isrc = next(iter(catalogs.mb_by_isrc))
    r = await c.get(f"{WS}/isrc/{isrc}", params={"fmt": "json"})
    assert r.status == 403
    c.app[EMULATOR].clock.advance(10)  # type: ignore[attr-defined]
    statuses = [
        (await c.get(f"{WS}/isrc/{isrc}", params={"fmt": "json"}, headers=UA)).status for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 503
