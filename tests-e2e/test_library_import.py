"""Issue 15's "done when", through the gateway only: a user links Spotify, Deezer, TIDAL and YouTube,
imports everything and sees every playlist in the provider's order with its names, liked songs
included; edits, versions, diffs and restores; a second import changes nothing; a change on one
provider playlist changes only that one; a YouTube import that runs out of quota pauses and goes on by
itself once the provider's clock passes the reset; another user sees and changes none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from journeys import Client, forget_youtube_quota_days, tracks_of

from pm_devstack.stack import Stack
from pm_providers.domain.calendar import next_pacific_midnight

PROVIDERS = ("spotify", "deezer", "tidal", "youtube")


@pytest.fixture
async def client(gateway_url: str, stack: Stack, register_user) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        yield Client(session, gateway_url, emulator, await register_user())


async def _spotify_add(client: Client, token: str, playlist_id: str, track_id: str) -> None:
    async with client.session.post(
        f"{client.emulator}/api.spotify.com/v1/playlists/{playlist_id}/items",
        json={"uris": [f"spotify:track:{track_id}"]},
        headers={"Authorization": f"Bearer {token}"},
    ) as r:
        assert r.status == 201, await r.text()


async def test_import_everything_edit_and_import_again(client: Client, register_user):
    library = {
        "playlists": [{"name": "Road trip", "size": 25}, {"name": "Focus", "size": 40}],
        "liked_count": 12,
    }
    accounts = {p: await client.link(p, library) for p in PROVIDERS}

    first = await client.import_all(list(PROVIDERS))
    totals = first["result"]
    assert totals["playlists_seen"] == 4 * 3 and totals["unchanged"] == 0, (
        totals
    )  # two playlists and liked songs each
    imported = await client.library_when(lambda found: len(found) == 4 * 3)
    for provider, account in accounts.items():
        truth = await client.admin("GET", f"/users/{provider}/{account.id}")
        for playlist in truth["playlists"]:
            key = f"{provider}:{playlist['id']}"
            if key not in imported:  # Deezer's Loved Tracks: the liked collection (below)
                assert provider == "deezer" and playlist["tracks"] == truth["liked"], key
                continue
            mine = imported[key]
            assert mine["name"] == playlist["name"] and mine["collection"] == "playlist", key
            assert tracks_of(mine, provider) == playlist["tracks"], key  # the provider's order
        liked = imported[f"{provider}:liked"]
        assert liked["collection"] == "liked"
        assert tracks_of(liked, provider) == truth["liked"], (
            provider
        )  # newest first, as each provider lists it
    _, collections = await client.call("GET", "/api/v1/library/liked")
    assert {c["origin"]["provider"] for c in collections["collections"]} == set(PROVIDERS)

    # Edit one, see the versions, diff, restore.
    spotify_account = accounts["spotify"].id
    first_spotify = (await client.admin("GET", f"/users/spotify/{spotify_account}"))["playlists"][0]["id"]
    mix = imported[f"spotify:{first_spotify}"]
    ids = [e["id"] for e in mix["entries"]["items"]]
    await client.call(
        "POST", f"/api/v1/playlists/{mix['id']}/entries/move", json={"entry_ids": [ids[-1]], "to": 0}
    )
    await client.call("POST", f"/api/v1/playlists/{mix['id']}/entries/remove", json={"entry_ids": ids[:2]})
    _, versions = await client.call("GET", f"/api/v1/playlists/{mix['id']}/versions")
    assert [v["kind"] for v in versions["versions"]] == ["remove", "move", "import"]
    _, changes = await client.call("GET", f"/api/v1/playlists/{mix['id']}/diff", params={"from": 1, "to": 3})
    assert len(changes["removed"]) == 2 and len(changes["moved"]) == 1
    _, restored = await client.call("POST", f"/api/v1/playlists/{mix['id']}/versions/1/restore")
    assert restored["version"] == 4
    _, page = await client.call("GET", f"/api/v1/playlists/{mix['id']}", params={"limit": "500"})
    assert [e["id"] for e in page["entries"]["items"]] == ids

    # Nothing changed on the providers: the second import reads no playlist again and sends nothing.
    before = {k: (v["version"], v["updated_at"]) for k, v in (await client.library()).items()}
    second = (await client.import_all(list(PROVIDERS)))["result"]
    assert (second["imported"], second["unchanged"]) == (0, 4 * 3), second

    # One playlist changes on Spotify: only that one changes here.
    spotify = await client.admin("GET", f"/users/spotify/{accounts['spotify'].id}")
    target = spotify["playlists"][1]
    await _spotify_add(
        client,
        accounts["spotify"].tokens["access_token"],
        target["id"],
        spotify["playlists"][0]["tracks"][0],
    )
    third = (await client.import_all(["spotify"]))["result"]
    assert third["imported"] == 1, third
    key = f"spotify:{target['id']}"
    changed = await client.library_when(lambda found: found[key]["version"] != before[key][0])
    # Only that one: and since one user's events are applied in order, the second import's (none) too.
    assert {k: (v["version"], v["updated_at"]) for k, v in changed.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
    assert tracks_of(changed[f"spotify:{target['id']}"], "spotify") == [
        *target["tracks"],
        spotify["playlists"][0]["tracks"][0],
    ]

    # Another user: none of it is theirs.
    stranger = Client(client.session, client.gateway, client.emulator, await register_user())
    _, theirs = await stranger.call("GET", "/api/v1/playlists")
    assert theirs["playlists"] == []
    for detail in list(changed.values())[:3]:
        await stranger.call("GET", f"/api/v1/playlists/{detail['id']}", expect=404)
        await stranger.call("PATCH", f"/api/v1/playlists/{detail['id']}", expect=404, json={"name": "mine"})
        await stranger.call("DELETE", f"/api/v1/playlists/{detail['id']}", expect=404)
    await stranger.call("GET", f"/api/v1/jobs/{first['job_id']}", expect=404)


async def test_a_youtube_import_out_of_quota_waits_for_the_providers_reset(client: Client, stack: Stack):
    """The emulator's clock is put 25 s before midnight Pacific time and its YouTube quota nearly used
    up: the import pauses; once the provider's day has turned, the job goes on by itself."""
    library = {"playlists": [{"name": f"List {i}", "size": 5} for i in range(4)], "liked_count": 3}
    account = await client.link("youtube", library)
    limits = (await client.admin("GET", "/rate-limits"))["providers"]["youtube"]
    emulator_now = datetime.fromtimestamp((await client.admin("GET", "/clock"))["now"], UTC)
    midnight = next_pacific_midnight(emulator_now)
    try:
        await client.admin("POST", "/clock", json={"advance": (midnight - emulator_now).total_seconds() - 25})
        await client.admin("PUT", "/rate-limits/youtube", json={"units_per_day": 2})
        job = await client.start_import(["youtube"])
        paused = await client.job(job["job_id"], {"paused"})
        assert paused["error"]["code"] == "provider-quota", paused
        # The provider's quota is restored by an operator, but its day has not turned: the job waits for
        # the reset it was told (its own ledger says the day's quota is used up).
        await client.admin("PUT", "/rate-limits/youtube", json={"units_per_day": limits["units_per_day"]})
        done = await client.job(job["job_id"], {"succeeded"})
        clock = await client.admin("GET", "/clock")
        assert datetime.fromtimestamp(clock["now"], UTC) > midnight  # resumed after the provider's reset
    finally:
        await client.admin("PUT", "/rate-limits/youtube", json={"units_per_day": limits["units_per_day"]})
        await client.admin("POST", "/clock", json={"offset": 0})
        await forget_youtube_quota_days(stack.redis_url())
    truth = await client.admin("GET", f"/users/youtube/{account.id}")
    imported = await client.library_when(lambda found: len(found) == len(truth["playlists"]) + 1)
    for playlist in truth["playlists"]:
        assert tracks_of(imported[f"youtube:{playlist['id']}"], "youtube") == playlist["tracks"]
    assert done["result"] is not None
