"""The /_admin API, health, faults and call counts, driven over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pm_provider_emulator.app import init_app
from pm_provider_emulator.domain.clock import SystemClock
from pm_provider_emulator.http.context import EMULATOR
from pm_provider_emulator.settings import EmulatorSettings

SP = {"Authorization": "Bearer demo-spotify-access-token"}


async def test_health(client: TestClient[Any, Any]):
    for path in ("/health", "/health/live", "/health/ready"):
        r = await client.get(path)
        assert r.status == 200
        assert (await r.json())["status"] == "ok"


async def test_demo_users_and_clients(client: TestClient[Any, Any]):
    demo = await (await client.get("/_admin/demo")).json()
    assert set(demo["users"]) == {"spotify", "deezer", "tidal", "youtube"}
    sp = demo["users"]["spotify"]
    assert sp["access_token"] == "demo-spotify-access-token"
    assert len(sp["playlists"]) == 11
    assert {c["client_id"] for c in demo["clients"]} >= {"pm-dev-spotify", "pm-dev-deezer"}
    index = await (await client.get("/_admin")).json()
    assert "POST /_admin/reset" in index["endpoints"]


async def test_create_user_with_library_and_tokens(client: TestClient[Any, Any]):
    body = {
        "provider": "spotify",
        "name": "Alice",
        "token_ttl": 60,
        "library": {
            "playlists": [{"name": "Big", "size": 10_000}, {"name": "Real", "source_playlist": 3}],
            "liked_count": 5,
        },
    }
    r = await client.post("/_admin/users", json=body)
    assert r.status == 201
    created = await r.json()
    token = created["tokens"]["access_token"]
    assert created["tokens"]["expires_in"] == 60
    assert [p["track_count"] for p in created["user"]["playlists"]] == [48, 10_000]
    me = await (
        await client.get("/api.spotify.com/v1/me", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert me["display_name"] == "Alice"
    uid = created["user"]["id"]
    detail = await (await client.get(f"/_admin/users/spotify/{uid}")).json()
    assert len(detail["liked"]) == 5
    more = await (
        await client.post(f"/_admin/users/spotify/{uid}/tokens", json={"scopes": ["user-read-private"]})
    ).json()
    r = await client.get(
        "/api.spotify.com/v1/me/playlists", headers={"Authorization": f"Bearer {more['access_token']}"}
    )
    assert r.status == 403  # no playlist-read-private scope
    r = await client.post(f"/_admin/tokens/{token}/expire")
    assert (
        await client.get("/api.spotify.com/v1/me", headers={"Authorization": f"Bearer {token}"})
    ).status == 401
    bad = await client.post(
        "/_admin/users",
        json={"provider": "spotify", "library": {"playlists": [{"name": "x", "tracks": ["nope"]}]}},
    )
    assert bad.status == 400


async def test_a_user_id_of_the_wrong_kind_is_refused(client: TestClient[Any, Any]):
    """Deezer's and TIDAL's APIs give user ids as numbers: an admin-made user must have one."""
    for provider in ("deezer", "tidal"):
        r = await client.post("/_admin/users", json={"provider": provider, "user_id": "not-a-number"})
        assert r.status == 400, provider
        r = await client.post("/_admin/users", json={"provider": provider, "user_id": "4242424242"})
        assert r.status == 201, provider


async def test_reset_restores_demo_state(client: TestClient[Any, Any]):
    await client.post("/api.spotify.com/v1/me/playlists", headers=SP, json={"name": "tmp"})
    assert len((await (await client.get("/_admin/demo")).json())["users"]["spotify"]["playlists"]) == 12
    await client.put("/_admin/faults/spotify", json={"error_rate": 1})
    assert (await (await client.post("/_admin/reset")).json())["reset"] is True
    demo = await (await client.get("/_admin/demo")).json()
    assert len(demo["users"]["spotify"]["playlists"]) == 11
    assert await (await client.get("/_admin/faults")).json() == {}
    assert (await (await client.get("/_admin/calls")).json())["total"] == 0


async def test_call_counts_per_endpoint(client: TestClient[Any, Any]):
    for _ in range(3):
        await client.get("/api.spotify.com/v1/me", headers=SP)
    await client.get("/api.deezer.com/user/me")
    calls = await (await client.get("/_admin/calls", params={"host": "api.spotify.com"})).json()
    assert calls == {"calls": {"GET /api.spotify.com/v1/me": 3}, "total": 3}
    await client.delete("/_admin/calls")
    assert (await (await client.get("/_admin/calls")).json())["total"] == 0


@pytest.mark.parametrize(
    ("provider", "path", "headers", "status", "check"),
    [
        (
            "spotify",
            "/api.spotify.com/v1/me",
            SP,
            503,
            lambda b: b == {"error": {"status": 503, "message": "Service unavailable"}},
        ),
        ("deezer", "/api.deezer.com/user/me", {}, 503, lambda b: b["error"]["code"] == 700),
        ("tidal", "/openapi.tidal.com/v2/users/me", {}, 503, lambda b: b["errors"][0]["status"] == "503"),
        (
            "youtube",
            "/www.googleapis.com/youtube/v3/playlists",
            {},
            503,
            lambda b: b["error"]["errors"][0]["reason"] == "backendError",
        ),
        ("musicbrainz", "/musicbrainz.org/ws/2/isrc/USUM72409273", {}, 503, lambda b: "error" in b),
    ],
)
async def test_injected_5xx_in_each_providers_format(
    client: TestClient[Any, Any], provider: str, path: str, headers: dict[str, str], status: int, check: Any
):
    r = await client.put(f"/_admin/faults/{provider}", json={"fail_next": 1})
    assert r.status == 200
    r = await client.get(path, headers=headers)
    assert r.status == status
    assert check(await r.json())


async def test_storm_drop_and_latency(client: TestClient[Any, Any]):
    await client.put("/_admin/faults/spotify", json={"storm_requests": 2, "storm_retry_after": 3})
    r = await client.get("/api.spotify.com/v1/me", headers=SP)
    assert r.status == 429
    assert r.headers["Retry-After"] == "3"
    await client.get("/api.spotify.com/v1/me", headers=SP)
    assert (await client.get("/api.spotify.com/v1/me", headers=SP)).status == 200
    await client.put("/_admin/faults/spotify", json={"storm_requests": 1, "storm_quota": True})
    r = await client.get("/api.spotify.com/v1/me", headers=SP)
    assert (await r.json())["error"]["reason"] == "QUOTA_EXCEEDED"
    await client.put("/_admin/faults/deezer", json={"storm_requests": 1})
    r = await client.get("/api.deezer.com/user/me")
    assert r.status == 200
    assert (await r.json())["error"]["code"] == 4
    await client.put("/_admin/faults/spotify", json={"drop_next": 1, "latency_ms": 20})
    with pytest.raises(aiohttp.ClientError):
        await client.get("/api.spotify.com/v1/me", headers=SP)
    assert (await client.get("/api.spotify.com/v1/me", headers=SP)).status == 200
    await client.delete("/_admin/faults")
    assert await (await client.get("/_admin/faults")).json() == {}


async def test_spotify_rate_limit_and_config_switches(make_client: Any):
    c = await make_client(rate_limits=True)
    r = await c.put("/_admin/rate-limits/spotify", json={"limit": 2, "window_s": 30})
    assert r.status == 200
    assert [(await c.get("/api.spotify.com/v1/me", headers=SP)).status for _ in range(3)] == [200, 200, 429]
    r = await c.get("/api.spotify.com/v1/me", headers=SP)
    assert int(r.headers["Retry-After"]) == 30
    assert (await c.put("/_admin/rate-limits/spotify", json={"nope": 1})).status == 400
    cfg = await (await c.put("/_admin/config", json={"spotify_mode": "legacy", "link_style": "real"})).json()
    assert cfg["spotify_mode"] == "legacy"
    await c.put("/_admin/rate-limits/spotify", json={"enabled": False})
    page = await (await c.get("/api.spotify.com/v1/me/playlists?limit=1", headers=SP)).json()
    assert page["next"].startswith("https://api.spotify.com/v1/")
    assert (await c.put("/_admin/config", json={"spotify_mode": "nope"})).status == 400


async def test_manual_clock(make_client: Any):
    c = await make_client(clock="manual")
    before = (await (await c.get("/_admin/clock")).json())["now"]
    after = await (await c.post("/_admin/clock", json={"advance": 60})).json()
    assert after == {"now": before + 60, "manual": True, "offset": None}
    assert (await (await c.post("/_admin/clock", json={"set": 5})).json())["now"] == 5
    assert (await c.post("/_admin/clock", json={"offset": 0})).status == 400  # the system clock's
    assert (await c.post("/_admin/clock", json={"advance": "1"})).status == 400


@pytest.fixture
async def system_clock_client(catalogs: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """An emulator on the system clock (EMULATOR_CLOCK unset)."""
    app = init_app(EmulatorSettings(rate_limits=False), catalogs=catalogs)
    assert isinstance(app[EMULATOR].clock, SystemClock)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_system_clock_moves_by_an_offset_and_keeps_flowing(system_clock_client: TestClient[Any, Any]):
    c = system_clock_client
    state = await (await c.get("/_admin/clock")).json()
    assert state["manual"] is False and state["offset"] == 0
    moved = await (await c.post("/_admin/clock", json={"advance": 86_400})).json()
    assert moved["offset"] == 86_400
    assert moved["now"] >= state["now"] + 86_400
    assert time.time() + 86_399 <= moved["now"] <= time.time() + 86_401
    again = await (await c.post("/_admin/clock", json={"advance": -400})).json()
    assert again["offset"] == 86_000
    put = await (await c.post("/_admin/clock", json={"set": 1_780_000_000})).json()
    assert 1_780_000_000 <= put["now"] < 1_780_000_060
    later = await (await c.get("/_admin/clock")).json()
    assert later["now"] >= put["now"]  # time flows from where it was put
    back = await (await c.post("/_admin/clock", json={"offset": 0})).json()
    assert back["offset"] == 0 and abs(back["now"] - time.time()) < 5
    assert (await c.post("/_admin/clock", json={"advance": True})).status == 400


async def test_every_answer_states_the_emulators_time(make_client: Any, clock: Any):
    """Date (RFC 9110 IMF-fixdate) from the emulator's clock on every host, errors and admin included."""
    c = await make_client(rate_limits=True)
    clock.set(1_780_000_000.0)  # Thu, 28 May 2026 20:26:40 GMT
    yt = {"Authorization": "Bearer ya29.demo-youtube-access-token"}
    answers = [
        await c.get("/api.spotify.com/v1/me", headers=SP),  # 200
        await c.get("/api.spotify.com/v1/albums/x", headers=SP),  # unknown path
        await c.get("/api.spotify.com/v1/me"),  # 401
        await c.get("/api.deezer.com/user/me"),  # Deezer's HTTP-200 error
        await c.get("/openapi.tidal.com/v2/users/me"),
        await c.get("/www.googleapis.com/youtube/v3/channels", headers=yt, params={"part": "id"}),
        await c.post("/oauth2.googleapis.com/token", data={"grant_type": "nope"}),
        await c.get("/musicbrainz.org/ws/2/isrc/X", headers={"User-Agent": "python-requests/2"}),  # 403
        await c.get("/_admin/clock"),
        await c.post("/_admin/clock", json={}),  # admin error
        await c.get("/health"),
        await c.get("/nowhere"),
    ]
    assert {r.headers["Date"] for r in answers} == {"Thu, 28 May 2026 20:26:40 GMT"}
    await c.put("/_admin/rate-limits/youtube", json={"units_per_day": 0})
    refused = await c.get("/www.googleapis.com/youtube/v3/channels", headers=yt, params={"part": "id"})
    assert refused.status == 403
    await c.post("/_admin/clock", json={"advance": 86_400 + 0.9})
    assert refused.headers["Date"] == "Thu, 28 May 2026 20:26:40 GMT"
    r = await c.get("/health")
    assert r.headers["Date"] == "Fri, 29 May 2026 20:26:40 GMT"  # moved with the clock, to the second
    assert parsedate_to_datetime(r.headers["Date"]).timestamp() == 1_780_086_400


async def test_mapping_ground_truth(client: TestClient[Any, Any], catalogs: Any):
    rec = next(r for r in catalogs.recordings.values() if len(r.spotify_ids) > 1)
    body = await (await client.get("/_admin/catalog/mapping", params={"isrc": rec.isrc})).json()
    assert body["recordings"][0]["spotify"] == list(rec.spotify_ids)
    playlists = await (await client.get("/_admin/catalog/playlists")).json()
    assert len(playlists["playlists"]) == 46


async def test_trailing_slash_and_unknown_paths(client: TestClient[Any, Any]):
    r = await client.get("/api.spotify.com/v1/me/", headers=SP)  # spotipy calls "me/"
    assert r.status == 200
    r = await client.get("/api.spotify.com/v1/albums/x", headers=SP)
    assert r.status == 404
    assert await r.json() == {"error": {"status": 404, "message": "Service not found"}}
    r = await client.get("/api.deezer.com/nothing/here")
    assert r.status == 200
    assert (await r.json())["error"]["code"] == 800
    calls = (await (await client.get("/_admin/calls")).json())["calls"]
    assert calls["GET /api.spotify.com/v1/me"] == 1


async def test_revoking_an_apps_access_kills_its_tokens_and_only_those(client: TestClient[Any, Any]):
    created = await (await client.post("/_admin/users", json={"provider": "spotify"})).json()
    uid = created["user"]["id"]
    ours = created["tokens"]
    other = await (
        await client.post(f"/_admin/users/spotify/{uid}/tokens", json={"client_id": "pm-dev-spotify-other"})
    ).json()
    r = await client.post(f"/_admin/users/spotify/{uid}/revoke-access", json={"client_id": ours["client_id"]})
    assert (await r.json()) == {"revoked": 2}  # the app's access token and refresh token
    me = "/api.spotify.com/v1/me"
    assert (await client.get(me, headers={"Authorization": f"Bearer {ours['access_token']}"})).status == 401
    assert (await client.get(me, headers={"Authorization": f"Bearer {other['access_token']}"})).status == 200
    refresh = await client.post(
        "/accounts.spotify.com/api/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": ours["refresh_token"],
            "client_id": ours["client_id"],
        },
    )
    assert refresh.status == 400
    assert (await refresh.json())["error"] == "invalid_grant"
    unknown = await client.post("/_admin/users/spotify/nobody/revoke-access", json={"client_id": "x"})
    assert unknown.status == 404
