"""Sync links and their runs inside provider-sync, against the emulated providers (tokens from the
stand-in auth; the shared catalog played by a stand-in that knows nothing, so every crossing track is
looked for on the other end): mirror, add-only and two-way runs, the removal brake, undo, a failed run
that the next one finishes without duplicates, the scheduler's once-per-due-link, and the API refusing
what it must. What each end holds is checked against the emulator's ground truth (``/_admin/catalog/
mapping``). Each test has its own user and accounts; nothing is timed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from pm_platform.jobs import Job
from pm_platform.testing import published_events, stand_in_server
from pm_provider_sync.usecases import sync as usecase

from .conftest import Account, Emulator, ProviderSync, ServiceFactory

pytestmark = pytest.mark.integration


async def _knows_nothing(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"hits": [None] * len(body["tracks"]), "absent": [None] * len(body["tracks"])})


@pytest.fixture(scope="module")
async def ps(start_provider_sync: ServiceFactory) -> AsyncIterator[ProviderSync]:
    async with stand_in_server(_knows_nothing, "/internal/catalog/lookup", "POST") as url:
        # The scheduler only ticks when a test calls it (start_due), so runs start when a test says.
        yield await start_provider_sync(ENRICHMENT_URL=url, SYNC_TICK_S="3600")


class Ends:
    """A user with a Spotify account (a real catalog playlist) and an account on ``other`` (an empty
    playlist), both linked."""

    def __init__(self, ps: ProviderSync, user: uuid.UUID, a: Account, b: Account) -> None:
        self.ps, self.user, self.a, self.b = ps, user, a, b
        self.a_id, self.b_id = a.playlists["Mine"], b.playlists["Copy"]

    async def a_ids(self) -> list[str]:
        return [t.id or "" for t in await self.ps.adapter(self.a).read_all(self.a_id)]

    async def b_ids(self) -> list[str]:
        return [t.id or "" for t in await self.ps.adapter(self.b).read_all(self.b_id)]


async def ends(
    ps: ProviderSync, other: str = "deezer", size: int = 8, b_tracks: list[str] | None = None
) -> Ends:
    user = uuid.uuid4()
    emulator = ps.emulator
    spotify = await emulator.account("spotify", [{"name": "Mine", "source_playlist": 0}])
    copy: dict[str, Any] = {"name": "Copy"} | ({"tracks": b_tracks} if b_tracks is not None else {"size": 0})
    b = await emulator.account(other, [copy])
    await ps.link(user, spotify)
    await ps.link(user, b)
    pair = Ends(ps, user, spotify, b)
    adapter = ps.adapter(spotify)
    extra = (await adapter.read_all(pair.a_id))[size:]
    if extra:
        await adapter.remove_tracks(pair.a_id, extra)
    return pair


async def truth(emulator: Emulator, spotify_ids: list[str], provider: str) -> list[list[str]]:
    """The emulator's ground truth: each Spotify track's ids on ``provider`` (a recording may be there
    under several ids: any of them is the same song)."""
    out = []
    for sid in spotify_ids:
        body = await emulator.admin("GET", f"/catalog/mapping?spotify_id={sid}")
        out.append([str(i) for i in body["recordings"][0][provider]])
    return out


async def first_ids(emulator: Emulator, spotify_ids: list[str], provider: str) -> list[str]:
    return [ids[0] for ids in await truth(emulator, spotify_ids, provider)]


async def same_songs(emulator: Emulator, held: list[str], spotify_ids: list[str], provider: str) -> bool:
    """Whether ``held`` (ids on ``provider``) are the Spotify tracks' songs, one for one, in order."""
    expected = await truth(emulator, spotify_ids, provider)
    return len(held) == len(expected) and all(h in ids for h, ids in zip(held, expected, strict=True))


async def catalog_tracks(emulator: Emulator, playlist: int, count: int) -> list[str]:
    """Spotify ids of a catalog playlist's first tracks (new songs to add to an end)."""
    account = await emulator.account("spotify", [{"name": "Src", "source_playlist": playlist}])
    body = await emulator.admin("GET", f"/users/spotify/{account.id}")
    tracks: list[str] = body["playlists"][0]["tracks"]
    return tracks[:count]


async def call(
    ps: ProviderSync, user: uuid.UUID, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = await ps.client.request(method, path, json=body, headers=ps.headers(user))
    data = await response.json() if response.content_type.endswith("json") else None
    return response.status, data


async def link(pair: Ends, direction: str, **extra: Any) -> dict[str, Any]:
    body = {
        "a": {"provider": pair.a.provider, "playlist_id": pair.a_id},
        "b": {"provider": pair.b.provider, "playlist_id": pair.b_id},
        "direction": direction,
    } | extra
    status, created = await call(pair.ps, pair.user, "POST", "/api/v1/sync", body)
    assert status == 201, created
    return created


async def run(pair: Ends, link_id: str, *states: str) -> Job:
    status, job = await call(pair.ps, pair.user, "POST", f"/api/v1/sync/{link_id}/run")
    assert status == 202, job
    return await pair.ps.wait(uuid.UUID(job["job_id"]), *states)


async def test_a_mirror_keeps_deezer_equal_to_spotify_through_adds_removals_and_moves(
    ps: ProviderSync,
) -> None:
    pair = await ends(ps)
    created = await link(pair, "mirror")
    first = await run(pair, created["id"])
    assert first.state == "succeeded", first.error
    assert await same_songs(ps.emulator, await pair.b_ids(), await pair.a_ids(), "deezer")
    assert first.result["b"]["added"] == 8

    # The user edits Spotify: two songs added, one removed, one moved to the front.
    spotify = ps.adapter(pair.a)
    new = await catalog_tracks(ps.emulator, 1, 2)
    await spotify.add_tracks(pair.a_id, new)
    current = await spotify.read_all(pair.a_id)
    await spotify.remove_tracks(pair.a_id, [current[2]])
    current = await spotify.read_all(pair.a_id)
    await spotify.reorder(pair.a_id, current, [current[5], *current[:5], *current[6:]])
    second = await run(pair, created["id"])
    assert second.state == "succeeded", second.error
    assert await same_songs(ps.emulator, await pair.b_ids(), await pair.a_ids(), "deezer")
    assert (second.result["b"]["added"], second.result["b"]["removed"]) == (2, 1)
    # Edited in place: the same Deezer playlist (its id, its name).
    assert (await ps.adapter(pair.b).playlist(pair.b_id)).name == "Copy"

    # Nothing changed: one call per end, no read of the entries, no write.
    await ps.emulator.reset_calls()
    third = await run(pair, created["id"])
    assert third.result["changed"] is False
    assert third.result["calls"] == {"spotify": 1, "deezer": 1}
    assert sum((await ps.emulator.calls("deezer")).values()) == 1

    events = [e["type"] for e in await published_events(ps.rt, created["id"])]
    assert events[0] == "sync.link_created"
    assert events.count("sync.run_started") == 3 and events.count("sync.run_completed") == 3


async def test_the_same_sync_twice_never_grows_the_target(ps: ProviderSync) -> None:
    """Deezer holds half of Spotify's songs already (as Deezer's own tracks, under the last of their
    Deezer ids: a search might prefer another): the first run pairs them instead of adding them again,
    and a full compare later (markers forgotten) changes nothing."""
    probe = await ends(ps)
    spotify_ids = await probe.a_ids()
    half = [ids[-1] for ids in await truth(ps.emulator, spotify_ids[:4], "deezer")]
    pair = await ends(ps, b_tracks=half)
    created = await link(pair, "add_only")
    first = await run(pair, created["id"])
    assert first.state == "succeeded", first.error
    held = await pair.b_ids()
    assert held[:4] == half
    assert await same_songs(ps.emulator, held[4:], spotify_ids[4:], "deezer")
    assert first.result["b"]["added"] == 4
    async with ps.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE sync_links SET a_marker = NULL, b_marker = NULL WHERE id = $1", uuid.UUID(created["id"])
        )
    again = await run(pair, created["id"])
    assert again.result["changed"] is False
    assert len(await pair.b_ids()) == 8


async def test_add_only_adds_new_songs_and_keeps_what_the_target_removed_removed(ps: ProviderSync) -> None:
    pair = await ends(ps, size=5)
    created = await link(pair, "add_only")
    assert (await run(pair, created["id"])).state == "succeeded"
    deezer = ps.adapter(pair.b)
    held = await deezer.read_all(pair.b_id)
    await deezer.remove_tracks(pair.b_id, [held[0]])
    new = await catalog_tracks(ps.emulator, 1, 1)
    await ps.adapter(pair.a).add_tracks(pair.a_id, new)
    second = await run(pair, created["id"])
    assert second.result["b"] == second.result["b"] | {"added": 1, "removed": 0}
    now = await pair.b_ids()
    assert now[:-1] == [t.id for t in held[1:]]
    assert await same_songs(ps.emulator, now[-1:], new, "deezer")


async def test_a_two_way_sync_between_spotify_and_tidal_merges_both_sides_edits(ps: ProviderSync) -> None:
    pair = await ends(ps, other="tidal", size=6)
    created = await link(pair, "two_way")
    first = await run(pair, created["id"])
    assert first.state == "succeeded", first.error
    a0 = await pair.a_ids()
    assert await same_songs(ps.emulator, await pair.b_ids(), a0, "tidal")

    spotify, tidal = ps.adapter(pair.a), ps.adapter(pair.b)
    x, y = await catalog_tracks(ps.emulator, 1, 2)
    await spotify.add_tracks(pair.a_id, [x])  # a adds x at the end
    current = await spotify.read_all(pair.a_id)
    await spotify.remove_tracks(pair.a_id, [current[1]])  # a removes its second song
    (y_tidal,) = await first_ids(ps.emulator, [y], "tidal")
    await tidal.add_tracks(pair.b_id, [y_tidal])  # b adds y at the end
    held = await tidal.read_all(pair.b_id)
    await tidal.reorder(pair.b_id, held, [held[3], *held[:3], *held[4:]])  # b moves the fourth first
    second = await run(pair, created["id"])
    assert second.state == "succeeded", second.error

    expected_a = [a0[3], a0[0], *a0[2:3], *a0[4:], x, y]
    now_a = await pair.a_ids()
    # y came from TIDAL: Spotify may hold its song under another of its Spotify ids.
    assert now_a[:-1] == expected_a[:-1]
    assert await truth(ps.emulator, now_a[-1:], "tidal") == await truth(ps.emulator, [y], "tidal")
    assert await same_songs(ps.emulator, await pair.b_ids(), expected_a, "tidal")
    assert second.result["conflicts"] == 0 and second.result["unmatched"] == 0


async def test_the_removal_brake_stops_a_run_that_would_empty_the_target_until_confirmed(
    ps: ProviderSync,
) -> None:
    pair = await ends(ps, size=6)
    created = await link(pair, "mirror")
    assert (await run(pair, created["id"])).state == "succeeded"
    spotify = ps.adapter(pair.a)
    await spotify.remove_tracks(pair.a_id, (await spotify.read_all(pair.a_id))[1:])
    before = await pair.b_ids()
    stopped = await run(pair, created["id"], "paused")
    assert stopped.error is not None and stopped.error.code == "removal-brake"
    assert "remove 5 of the 6 tracks of the Deezer playlist" in stopped.error.message
    assert await pair.b_ids() == before  # nothing written

    status, view = await call(ps, pair.user, "GET", f"/api/v1/sync/runs/{stopped.id}")
    assert status == 200 and view["waiting_for_confirmation"] is True
    # Asked to run again instead, the stopped run plans again (the ends may have changed): still too
    # much, it stops again.
    status, again = await call(ps, pair.user, "POST", f"/api/v1/sync/{created['id']}/run")
    assert status == 202 and again["job_id"] == str(stopped.id)
    replanned = await ps.wait(stopped.id, "paused")
    assert replanned.error is not None and replanned.error.code == "removal-brake"
    status, _ = await call(ps, uuid.uuid4(), "POST", f"/api/v1/sync/runs/{stopped.id}/confirm")
    assert status == 404  # another user's run
    status, resumed = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{stopped.id}/confirm")
    assert status == 202, resumed
    done = await ps.wait(stopped.id)
    assert done.state == "succeeded", done.error
    assert await same_songs(ps.emulator, await pair.b_ids(), await pair.a_ids(), "deezer")
    status, again = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{stopped.id}/confirm")
    assert status == 409 and again["type"].endswith("run-not-waiting")


async def test_undo_restores_both_sides_and_pauses_the_link(ps: ProviderSync) -> None:
    pair = await ends(ps, other="tidal", size=5)
    created = await link(pair, "two_way")
    assert (await run(pair, created["id"])).state == "succeeded"
    a_before, b_before = await pair.a_ids(), await pair.b_ids()
    x, y = await catalog_tracks(ps.emulator, 1, 2)
    await ps.adapter(pair.a).add_tracks(pair.a_id, [x])
    (y_tidal,) = await first_ids(ps.emulator, [y], "tidal")
    await ps.adapter(pair.b).add_tracks(pair.b_id, [y_tidal])
    a_edited, b_edited = await pair.a_ids(), await pair.b_ids()
    merged = await run(pair, created["id"])
    assert merged.state == "succeeded" and merged.result["changed"] is True
    assert len(await pair.a_ids()) == 7

    # The owner adds a song to Spotify after the run: the undo reverts the run, not that.
    (z,) = [t for t in await catalog_tracks(ps.emulator, 2, 3) if t not in a_edited][:1]
    await ps.adapter(pair.a).add_tracks(pair.a_id, [z])
    status, job = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{merged.id}/undo")
    assert status == 202, job
    undo = await ps.wait(uuid.UUID(job["job_id"]))
    assert undo.state == "succeeded", undo.error
    assert (await pair.a_ids(), await pair.b_ids()) == ([*a_edited, z], b_edited)
    assert a_edited == [*a_before, x] and b_edited == [*b_before, y_tidal]
    status, again = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{merged.id}/undo")
    assert status == 202 and again["job_id"] == job["job_id"]  # asked again: the same undo
    status, view = await call(ps, pair.user, "GET", f"/api/v1/sync/{created['id']}")
    assert view["paused"] is True
    status, runs = await call(ps, pair.user, "GET", f"/api/v1/sync/{created['id']}/runs")
    assert [r["kind"] for r in runs["runs"]] == ["undo", "sync", "sync"]
    assert runs["runs"][1]["undone_by"] == job["job_id"]


async def test_an_undo_that_failed_can_be_asked_for_again(ps: ProviderSync) -> None:
    pair = await ends(ps, size=4)
    created = await link(pair, "mirror")
    assert (await run(pair, created["id"])).state == "succeeded"
    b_before, a_ids = await pair.b_ids(), await pair.a_ids()
    new = [t for t in await catalog_tracks(ps.emulator, 1, 8) if t not in a_ids][:2]
    await ps.adapter(pair.a).add_tracks(pair.a_id, new)
    synced = await run(pair, created["id"])
    assert synced.state == "succeeded" and synced.result["changed"] is True
    async with ps.emulator.faults("deezer", error_rate=1.0, error_status=500):
        status, job = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{synced.id}/undo")
        assert status == 202, job
        assert (await ps.wait(uuid.UUID(job["job_id"]))).state == "failed"
    status, again = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{synced.id}/undo")
    assert status == 202 and again["job_id"] != job["job_id"]
    undo = await ps.wait(uuid.UUID(again["job_id"]))
    assert undo.state == "succeeded", undo.error
    assert await pair.b_ids() == b_before
    status, view = await call(ps, pair.user, "GET", f"/api/v1/sync/runs/{synced.id}")
    assert view["undone_by"] == again["job_id"]


async def test_a_failed_run_keeps_the_last_good_state_and_the_next_one_finishes_without_duplicates(
    ps: ProviderSync,
) -> None:
    pair = await ends(ps, size=8)
    created = await link(pair, "mirror")
    async with ps.emulator.faults("deezer", error_rate=1.0, error_status=500):
        failed = await run(pair, created["id"])
    assert failed.state == "failed"
    _, view = await call(ps, pair.user, "GET", f"/api/v1/sync/{created['id']}")
    assert view["failures"] == 1 and view["last_error"]
    done = await run(pair, created["id"])
    assert done.state == "succeeded", done.error
    assert await same_songs(ps.emulator, await pair.b_ids(), await pair.a_ids(), "deezer")
    _, view = await call(ps, pair.user, "GET", f"/api/v1/sync/{created['id']}")
    assert view["failures"] == 0 and view["last_error"] is None


async def test_two_schedulers_start_a_due_link_once(ps: ProviderSync) -> None:
    pair = await ends(ps, size=2)
    created = await link(pair, "mirror", every_minutes=60)
    link_id = uuid.UUID(created["id"])
    now = datetime.now(UTC) + timedelta(seconds=1)
    await asyncio.gather(*(usecase.start_due(ps.rt, now) for _ in range(4)))
    async with ps.rt.pool.acquire() as conn:
        runs = await conn.fetch("SELECT id FROM sync_runs WHERE link_id = $1", link_id)
        due = await conn.fetchval("SELECT next_run_at FROM sync_links WHERE id = $1", link_id)
    assert len(runs) == 1
    assert due >= now + timedelta(minutes=59)
    assert (await ps.wait(runs[0]["id"])).state == "succeeded"


async def test_what_the_sync_api_refuses(ps: ProviderSync) -> None:
    pair = await ends(ps, size=2)
    a = {"provider": "spotify", "playlist_id": pair.a_id}
    b = {"provider": "deezer", "playlist_id": pair.b_id}
    cases: list[tuple[Any, int, str]] = [
        ({"a": a, "b": a}, 422, "validation-failed"),
        ({"a": a, "b": b, "direction": "sideways"}, 422, "validation-failed"),
        ({"a": a, "b": b, "every_minutes": 1}, 422, "validation-failed"),
        ({"a": a, "b": b, "max_removal_share": 2}, 422, "validation-failed"),
        ({"a": a, "b": b, "extra": 1}, 422, "validation-failed"),
        ({"a": a, "b": {"provider": "tidal", "playlist_id": "1"}}, 422, "provider-not-linked"),
        ({"a": a, "b": {"provider": "deezer", "playlist_id": "999999999999"}}, 422, "playlist-not-usable"),
        ({"a": a | {"playlist_id": "x\u0000"}, "b": b}, 422, "validation-failed"),
    ]
    for body, status, kind in cases:
        got, problem = await call(ps, pair.user, "POST", "/api/v1/sync", body)
        assert (got, problem["type"].rsplit("/", 1)[-1]) == (status, kind), (body, problem)
    created = await link(pair, "mirror")
    got, problem = await call(ps, pair.user, "POST", "/api/v1/sync", {"a": a, "b": b})
    assert got == 409 and problem["type"].endswith("sync-link-exists")
    got, problem = await call(ps, pair.user, "POST", "/api/v1/sync", {"a": b, "b": a})  # the other way round
    assert got == 409 and problem["type"].endswith("sync-link-exists")
    big = await ps.client.post(
        "/api/v1/sync",
        data=b'{"a":' + b" " * (9 << 10) + b"}",
        headers=ps.headers(pair.user) | {"Content-Type": "application/json"},
    )
    assert big.status == 413

    stranger = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/v1/sync/{created['id']}"),
        ("PATCH", f"/api/v1/sync/{created['id']}"),
        ("DELETE", f"/api/v1/sync/{created['id']}"),
        ("POST", f"/api/v1/sync/{created['id']}/run"),
        ("GET", f"/api/v1/sync/{created['id']}/runs"),
        ("GET", "/api/v1/sync/not-a-uuid"),
        ("GET", f"/api/v1/sync/runs/{uuid.uuid4()}"),
        ("POST", "/api/v1/sync/runs/nope/undo"),
    ]:
        got, problem = await call(ps, stranger, method, path, {"paused": True} if method == "PATCH" else None)
        assert got == 404, (method, path, problem)
    _, listed = await call(ps, stranger, "GET", "/api/v1/sync")
    assert listed == {"links": []}

    got, problem = await call(ps, pair.user, "PATCH", f"/api/v1/sync/{created['id']}", {})
    assert got == 422
    got, changed = await call(
        ps, pair.user, "PATCH", f"/api/v1/sync/{created['id']}", {"every_minutes": 30, "paused": True}
    )
    assert got == 200 and (changed["every_minutes"], changed["paused"]) == (30, True)
    # A run that changed nothing cannot be undone.
    job = await run(pair, created["id"])
    job = await run(pair, created["id"])
    assert job.result["changed"] is False
    got, problem = await call(ps, pair.user, "POST", f"/api/v1/sync/runs/{job.id}/undo")
    assert got == 409 and problem["type"].endswith("undo-refused")
    got, _ = await call(ps, pair.user, "DELETE", f"/api/v1/sync/{created['id']}")
    assert got == 204
    got, _ = await call(ps, pair.user, "GET", f"/api/v1/sync/{created['id']}")
    assert got == 404


async def test_a_song_the_other_end_lacks_is_looked_for_once_a_while(ps: ProviderSync) -> None:
    """A Spotify song TIDAL does not have: reported unmatched, and a later run that reads both ends in
    full (markers forgotten) does not search TIDAL for it again."""
    absent = None
    for sid in await catalog_tracks(ps.emulator, 2, 46):
        body = await ps.emulator.admin("GET", f"/catalog/mapping?spotify_id={sid}")
        if not body["recordings"][0]["tidal"]:
            absent = sid
            break
    assert absent is not None, "the catalog has a song TIDAL lacks"
    pair = await ends(ps, other="tidal", size=3)
    await ps.adapter(pair.a).add_tracks(pair.a_id, [absent])
    created = await link(pair, "mirror")
    first = await run(pair, created["id"])
    assert first.state == "succeeded", first.error
    assert first.result["unmatched"] == 1
    assert await same_songs(ps.emulator, await pair.b_ids(), (await pair.a_ids())[:3], "tidal")

    async with ps.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE sync_links SET a_marker = NULL, b_marker = NULL WHERE id = $1", uuid.UUID(created["id"])
        )
    await ps.emulator.reset_calls()
    again = await run(pair, created["id"])
    assert again.result["unmatched"] == 1 and again.result["changed"] is False
    searches = [k for k in await ps.emulator.calls("tidal") if "search" in k.lower()]
    assert searches == []
