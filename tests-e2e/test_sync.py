"""Sync links through the gateway, on the running stack (docs/sync.md): a mirror from Spotify keeps Deezer
the same through adds, removals and moves, and a run whose provider-sync is killed (SIGKILL) while it
writes finishes once it is started again, without a duplicate; a two-way link between Spotify and TIDAL
merges both sides' edits and reports a conflicting move; two provider-sync replicas start each scheduled
run of a link exactly once; the removal brake stops a run that would empty a playlist until the owner
confirms it; a library playlist linked with its origin on Spotify writes the library's
edits back, and takes the owner's edits on Spotify in.

The ends are edited as their owner would, with the providers' own adapters and the accounts' tokens;
what they hold is checked against the emulator's ground truth (``/_admin/catalog/mapping``). Source
tracks come from catalog playlists 0 and 1, which other tests use too (the shared catalog may know them:
a sync needs no search then, and proves nothing less)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from journeys import Client

from pm_devstack import lifecycle
from pm_devstack.ports import free_port_block, port_in_use
from pm_devstack.service import ServiceProcess
from pm_devstack.stack import Stack
from pm_providers import ProviderAdapter, Providers, StaticTokenSource
from pm_providers.settings import ProviderSettings

pytestmark = pytest.mark.timeout(600)


@dataclasses.dataclass
class End:
    provider: str
    playlist_id: str
    adapter: ProviderAdapter

    async def ids(self) -> list[str]:
        return [t.id or "" for t in await self.adapter.read_all(self.playlist_id)]


@pytest.fixture
async def client(gateway_url: str, stack: Stack, register_user) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        yield Client(session, gateway_url, emulator, await register_user())


@pytest.fixture
async def providers(stack: Stack) -> AsyncIterator[Providers]:
    """The providers' adapters on the emulator, to edit the ends as their owner does."""
    env = stack.service_env("provider-sync")
    redis = aioredis.from_url(env["REDIS_URL"])
    settings = ProviderSettings(PROVIDER_REDIS_PREFIX=f"e2e-sync:{uuid.uuid4().hex[:8]}").for_emulator(
        env["PROVIDER_EMULATOR_URL"]
    )
    try:
        async with Providers(settings, redis) as found:
            yield found
    finally:
        await redis.aclose()


async def linked_end(client: Client, providers: Providers, provider: str, playlist: dict[str, Any]) -> End:
    account = await client.link(provider, {"playlists": [playlist]})
    body = await client.admin("GET", f"/users/{provider}/{account.id}")
    [made] = [p for p in body["playlists"] if p["name"] == playlist["name"]]
    tokens = StaticTokenSource(account.tokens["access_token"])
    return End(provider, str(made["id"]), providers.adapter(provider, tokens, user_key=account.id))


async def spotify_source(client: Client, providers: Providers, size: int) -> End:
    end = await linked_end(client, providers, "spotify", {"name": "Mine", "source_playlist": 0})
    extra = (await end.adapter.read_all(end.playlist_id))[size:]
    if extra:
        await end.adapter.remove_tracks(end.playlist_id, extra)
    return end


async def catalog_tracks(client: Client, playlist: int, count: int) -> list[str]:
    """Spotify ids of a catalog playlist's first tracks."""
    account = f"e2e{uuid.uuid4().hex}"
    spec = {
        "provider": "spotify",
        "user_id": account,
        "library": {"playlists": [{"name": "S", "source_playlist": playlist}]},
    }
    await client.admin("POST", "/users", json=spec)
    body = await client.admin("GET", f"/users/spotify/{account}")
    return list(body["playlists"][0]["tracks"][:count])


async def songs(client: Client, spotify_ids: list[str], provider: str) -> list[list[str]]:
    """Each Spotify track's ids on ``provider`` (a recording may be there under several)."""
    out = []
    for sid in spotify_ids:
        body = await client.admin("GET", f"/catalog/mapping?spotify_id={sid}")
        out.append([str(i) for i in body["recordings"][0][provider]])
    return out


async def holds(client: Client, end: End, spotify_ids: list[str]) -> bool:
    """Whether ``end`` holds exactly the Spotify tracks' songs, in order, once each."""
    held, expected = await end.ids(), await songs(client, spotify_ids, end.provider)
    return len(held) == len(expected) and all(h in ids for h, ids in zip(held, expected, strict=True))


async def create_link(client: Client, a: End, b: End, direction: str, **extra: Any) -> dict[str, Any]:
    """POST /api/v1/sync, again while provider-sync has not yet learnt of the links (auth's events)."""
    body = {
        "a": {"provider": a.provider, "playlist_id": a.playlist_id},
        "b": {"provider": b.provider, "playlist_id": b.playlist_id},
        "direction": direction,
    } | extra
    return await client.once_linked("/api/v1/sync", body, 201)


async def run(client: Client, link_id: str) -> dict[str, Any]:
    _, job = await client.call("POST", f"/api/v1/sync/{link_id}/run", expect=202)
    return await client.job(job["job_id"], {"succeeded"})


async def test_a_mirror_keeps_deezer_equal_and_a_run_killed_while_writing_ends_without_duplicates(
    client: Client, providers: Providers, stack: Stack
) -> None:
    spotify = await spotify_source(client, providers, 10)
    deezer = await linked_end(client, providers, "deezer", {"name": "Copy", "size": 0})
    link = await create_link(client, spotify, deezer, "mirror")
    assert (await run(client, link["id"]))["result"]["b"]["added"] == 10
    assert await holds(client, deezer, await spotify.ids())

    # Adds, a removal and a move on Spotify.
    await spotify.adapter.add_tracks(spotify.playlist_id, await catalog_tracks(client, 1, 3))
    current = await spotify.adapter.read_all(spotify.playlist_id)
    await spotify.adapter.remove_tracks(spotify.playlist_id, [current[4]])
    current = await spotify.adapter.read_all(spotify.playlist_id)
    await spotify.adapter.reorder(spotify.playlist_id, current, [current[7], *current[:7], *current[8:]])
    changed = (await run(client, link["id"]))["result"]
    assert (changed["b"]["added"], changed["b"]["removed"]) == (3, 1)
    assert await holds(client, deezer, await spotify.ids())

    # Killed while it writes: twenty more songs, Deezer slow, provider-sync killed once the run has read
    # both ends and paired the new songs (what is left is the write), then started again.
    held = await spotify.ids()
    new = [t for t in (await catalog_tracks(client, 1, 23))[3:] if t not in held]
    await spotify.adapter.add_tracks(spotify.playlist_id, new)
    env = stack.service_env("provider-sync")
    pool = await asyncpg.create_pool(env["DATABASE_URL"], min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            paired = await conn.fetchval(
                "SELECT count(*) FROM sync_pairs WHERE link_id = $1", uuid.UUID(link["id"])
            )
        await client.admin("PUT", "/faults/deezer", json={"latency_ms": 1500})
        _, job = await client.call("POST", f"/api/v1/sync/{link['id']}/run", expect=202)
        # The new songs' pairs commit together, before the first write.
        await _until_paired(pool, link["id"], job["job_id"], at_least=paired + 1)
        await _kill_provider_sync(stack)
    finally:
        await client.admin("DELETE", "/faults/deezer")
        await pool.close()
    done = await client.job(job["job_id"], {"succeeded"})
    assert await holds(client, deezer, await spotify.ids())
    assert len(await deezer.ids()) == len(await spotify.ids()) == 12 + len(new)
    _, view = await client.call("GET", f"/api/v1/sync/runs/{done['job_id']}")
    # The report counts from how the run's first attempt found the ends, whichever attempt wrote.
    assert view["state"] == "succeeded" and view["report"]["b"]["added"] == len(new)


async def _until_paired(pool: asyncpg.Pool, link_id: str, run_id: str, at_least: int) -> None:
    for _ in range(600):
        async with pool.acquire() as conn:
            read = await conn.fetchval(
                "SELECT before_a IS NOT NULL FROM sync_runs WHERE id = $1", uuid.UUID(run_id)
            )
            pairs = await conn.fetchval(
                "SELECT count(*) FROM sync_pairs WHERE link_id = $1", uuid.UUID(link_id)
            )
        if read and pairs >= at_least:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the run never paired the new songs")


async def _kill_provider_sync(stack: Stack) -> None:
    """kill -9, then start it again as the stack does (the job's lease runs out; another run resumes)."""
    pid = int((stack.config.run_dir / "provider-sync.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    port = stack.spec("provider-sync").port
    for _ in range(200):
        if not Path(f"/proc/{pid}").exists() and not port_in_use(port):
            break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(lifecycle.restart, stack, "provider-sync", say=lambda _: None)


async def test_a_two_way_link_merges_both_sides_and_reports_a_conflicting_move(
    client: Client, providers: Providers
) -> None:
    spotify = await spotify_source(client, providers, 6)
    tidal = await linked_end(client, providers, "tidal", {"name": "Copy", "size": 0})
    link = await create_link(client, spotify, tidal, "two_way")
    await run(client, link["id"])
    a0 = await spotify.ids()
    assert await holds(client, tidal, a0)

    # Spotify moves its fifth song first and adds one; TIDAL moves the same song second and removes the
    # song that was second.
    current = await spotify.adapter.read_all(spotify.playlist_id)
    await spotify.adapter.reorder(spotify.playlist_id, current, [current[4], *current[:4], *current[5:]])
    (x,) = [t for t in await catalog_tracks(client, 1, 6) if t not in a0][:1]
    await spotify.adapter.add_tracks(spotify.playlist_id, [x])
    held = await tidal.adapter.read_all(tidal.playlist_id)
    await tidal.adapter.reorder(tidal.playlist_id, held, [held[0], held[4], *held[1:4], held[5]])
    held = await tidal.adapter.read_all(tidal.playlist_id)
    await tidal.adapter.remove_tracks(tidal.playlist_id, [held[2]])
    merged = await run(client, link["id"])

    expected = [a0[4], a0[0], a0[2], a0[3], a0[5], x]  # Spotify's move won; TIDAL's removal and x kept
    assert await spotify.ids() == expected
    assert await holds(client, tidal, expected)
    assert merged["result"]["conflicts"] == 1
    _, view = await client.call("GET", f"/api/v1/sync/runs/{merged['job_id']}")
    [conflict] = view["report"]["conflicts"]
    assert conflict["kind"] == "move-move"


async def test_the_removal_brake_stops_a_run_that_would_empty_a_playlist_until_confirmed(
    client: Client, providers: Providers
) -> None:
    spotify = await spotify_source(client, providers, 5)
    deezer = await linked_end(client, providers, "deezer", {"name": "Copy", "size": 0})
    link = await create_link(client, spotify, deezer, "mirror")
    await run(client, link["id"])
    held = await deezer.ids()
    assert len(held) == 5

    # The owner empties the Spotify playlist: the mirror would empty Deezer's. It stops before writing.
    await spotify.adapter.remove_tracks(
        spotify.playlist_id, await spotify.adapter.read_all(spotify.playlist_id)
    )
    _, job = await client.call("POST", f"/api/v1/sync/{link['id']}/run", expect=202)
    stopped = await client.job(job["job_id"], {"paused"})
    assert stopped["error"]["code"] == "removal-brake", stopped
    assert await deezer.ids() == held

    await client.call("POST", f"/api/v1/sync/runs/{job['job_id']}/confirm", expect=202)
    done = await client.job(job["job_id"], {"succeeded"})
    assert done["result"]["b"]["removed"] == 5
    assert await deezer.ids() == []


async def test_two_provider_sync_replicas_start_each_scheduled_run_once(
    client: Client, providers: Providers, stack: Stack
) -> None:
    spotify = await spotify_source(client, providers, 3)
    deezer = await linked_end(client, providers, "deezer", {"name": "Copy", "size": 0})
    fast = {"SYNC_TICK_S": "0.2"}
    spec = stack.spec("provider-sync")
    port = free_port_block((0,))
    second = ServiceProcess(
        dataclasses.replace(spec, port=port),
        stack.service_env("provider-sync") | fast | {"PORT": str(port)},
        cwd=stack.config.repo_root,
        log_path=stack.config.log_path("provider-sync-2"),
        pid_path=stack.config.run_dir / "provider-sync-2.pid",
    )
    env = stack.service_env("provider-sync")
    pool = await asyncpg.create_pool(env["DATABASE_URL"], min_size=1, max_size=1)
    try:
        await asyncio.to_thread(lifecycle.restart, stack, "provider-sync", say=lambda _: None, env=fast)
        await asyncio.to_thread(second.start)
        await asyncio.to_thread(second.wait_healthy)
        # A scheduled link runs at once, then every 15 minutes: each time made due here, three times.
        link = await create_link(client, spotify, deezer, "mirror", every_minutes=15)
        link_id = uuid.UUID(link["id"])
        for expected in (1, 2, 3):
            if expected > 1:
                async with pool.acquire() as conn:
                    await conn.execute("UPDATE sync_links SET next_run_at = now() WHERE id = $1", link_id)
            runs = await _runs_when(pool, link_id, expected)
            for run_id in runs:
                await client.job(str(run_id), {"succeeded"})
        # Many ticks of both schedulers later, still one run per time it was due.
        await asyncio.sleep(2)
        assert len(await _runs_when(pool, link_id, 3)) == 3
        assert await holds(client, deezer, await spotify.ids())
    finally:
        await pool.close()
        await asyncio.to_thread(second.stop)
        await asyncio.to_thread(lifecycle.restart, stack, "provider-sync", say=lambda _: None)


async def _runs_when(pool: asyncpg.Pool, link_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """The link's runs once there are ``count`` of them."""
    for _ in range(600):
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id FROM sync_runs WHERE link_id = $1 ORDER BY created_at", link_id
            )
        if len(rows) >= count:
            return [r["id"] for r in rows]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the link never had {count} runs")


def _described(track: Any, provider: str, provider_track_id: str) -> dict[str, Any]:
    """A track as the library's API takes a new one: described, under ``provider``'s id."""
    return {
        "title": track.title,
        "artists": list(track.artists),
        "album": track.album,
        "duration_ms": track.duration_ms,
        "isrc": track.isrc,
        "provider": provider,
        "provider_track_id": provider_track_id,
    }


async def _library_playlist(client: Client, playlist_id: str) -> dict[str, Any]:
    _, page = await client.call("GET", f"/api/v1/playlists/{playlist_id}", params={"limit": "500"})
    return dict(page)


def _spotify_songs(page: dict[str, Any], mapping: dict[str, str]) -> list[str]:
    """The library entries' songs, each as the Spotify id of ``mapping`` (any provider id → Spotify id)."""
    out = []
    for entry in page["entries"]["items"]:
        ids = entry["track"]["provider_ids"]
        out.append(next(mapping[f"{p}:{i}"] for p, i in ids.items() if f"{p}:{i}" in mapping))
    return out


async def test_a_library_playlist_linked_with_its_origin_writes_its_edits_back_and_an_undo_restores_both(
    client: Client, providers: Providers
) -> None:
    """The library's edits reach Spotify through a link (mirror, then two-way); an import meanwhile leaves
    the library's unsynced edits alone; an undo of a run that changed both ends restores both; the
    playlist deleted from the library takes its link with it."""
    spotify = await linked_end(client, providers, "spotify", {"name": "Mine", "source_playlist": 0})
    tracks = await spotify.adapter.read_all(spotify.playlist_id)
    t, (x, y, z) = tracks[:6], tracks[6:9]
    await spotify.adapter.remove_tracks(spotify.playlist_id, tracks[6:])
    await client.import_all(["spotify"])
    key = f"spotify:{spotify.playlist_id}"
    library = await client.library_when(lambda found: key in found and found[key]["entry_count"] == 6)
    playlist_id = library[key]["id"]
    mapping = {f"spotify:{s.id}": s.id for s in tracks}
    [[y_on_deezer, *_]] = await songs(client, [y.id or ""], "deezer")
    mapping[f"deezer:{y_on_deezer}"] = y.id or ""

    # The owner edits the library: the second song out, the last one first, y (known by its Deezer id
    # only: Spotify has to be searched) third and x (by its Spotify id) last.
    entries = (await _library_playlist(client, playlist_id))["entries"]["items"]
    edits = [
        {"op": "remove", "entry_ids": [entries[1]["id"]]},
        {"op": "move", "entry_ids": [entries[5]["id"]], "to": 0},
        {"op": "add", "position": 2, "tracks": [_described(y, "deezer", y_on_deezer)]},
        {"op": "add", "tracks": [_described(x, "spotify", x.id or "")]},
    ]
    await client.call("POST", f"/api/v1/playlists/{playlist_id}/edits", json={"edits": edits})
    edited = [t[5].id, t[0].id, y.id, t[2].id, t[3].id, t[4].id, x.id]
    assert _spotify_songs(await _library_playlist(client, playlist_id), mapping) == edited

    library_end = End("library", playlist_id, spotify.adapter)
    link = await create_link(client, library_end, spotify, "mirror")
    written = (await run(client, link["id"]))["result"]
    assert (written["b"]["added"], written["b"]["removed"]) == (2, 1)
    assert await holds(client, spotify, [i or "" for i in edited])
    assert written["a"] == {"added": 0, "removed": 0, "moved": 0}

    # Two-way from now on. Spotify's owner adds z; the library's removes its first song; an import in
    # between brings Spotify's details only: the library's edit waits for the link.
    await client.call("PATCH", f"/api/v1/sync/{link['id']}", json={"direction": "two_way"})
    assert not (await run(client, link["id"]))["result"]["changed"]
    await spotify.adapter.add_tracks(spotify.playlist_id, [z.id or ""])
    page = await _library_playlist(client, playlist_id)
    await client.call(
        "POST",
        f"/api/v1/playlists/{playlist_id}/entries/remove",
        json={"entry_ids": [page["entries"]["items"][0]["id"]]},
    )
    await client.import_all(["spotify"])
    library_before = _spotify_songs(await _library_playlist(client, playlist_id), mapping)
    assert library_before == edited[1:]
    spotify_before = await spotify.ids()
    merged = await run(client, link["id"])
    expected = [*edited[1:], z.id]
    assert _spotify_songs(await _library_playlist(client, playlist_id), mapping) == expected
    assert await holds(client, spotify, [i or "" for i in expected])
    _, versions = await client.call("GET", f"/api/v1/playlists/{playlist_id}/versions")
    newest = versions["versions"][0]
    assert (newest["kind"], newest["author"]) == ("sync", f"sync:{link['id']}")

    # Undone: each end back to how the run found it.
    _, undo = await client.call("POST", f"/api/v1/sync/runs/{merged['job_id']}/undo", expect=202)
    await client.job(undo["job_id"], {"succeeded"})
    assert _spotify_songs(await _library_playlist(client, playlist_id), mapping) == library_before
    assert await spotify.ids() == spotify_before

    # The library playlist deleted: its link goes with it.
    await client.call("DELETE", f"/api/v1/playlists/{playlist_id}", expect=204)
    for _ in range(120):
        status, _ = await client.call("GET", f"/api/v1/sync/{link['id']}", expect=None)
        if status == 404:
            break
        await asyncio.sleep(0.5)
    assert status == 404


async def test_what_a_library_end_refuses(
    gateway_url: str, stack: Stack, register_user: Any, client: Client, providers: Providers
) -> None:
    """Another user's library playlist, one that does not exist, an id that is no UUID, two library ends:
    each refused with a problem naming why, and no link made."""
    spotify = await linked_end(client, providers, "spotify", {"name": "Mine", "size": 2})
    _, mine = await client.call(
        "POST", "/api/v1/playlists", expect=201, json={"name": "Here", "tracks": [{"title": "A song"}]}
    )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        stranger = Client(session, gateway_url, emulator, await register_user())
        _, theirs = await stranger.call(
            "POST", "/api/v1/playlists", expect=201, json={"name": "Theirs", "tracks": [{"title": "B song"}]}
        )
    on_spotify = {"provider": "spotify", "playlist_id": spotify.playlist_id}
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"provider": "library", "playlist_id": theirs["id"]}, on_spotify, "playlist-not-usable"),
        ({"provider": "library", "playlist_id": str(uuid.uuid4())}, on_spotify, "playlist-not-usable"),
        ({"provider": "library", "playlist_id": "not-a-uuid"}, on_spotify, "validation-failed"),
        (
            {"provider": "library", "playlist_id": mine["id"]},
            {"provider": "library", "playlist_id": theirs["id"]},
            "validation-failed",
        ),
    ]
    for a, b, kind in cases:
        for _ in range(120):  # provider-sync learns of the Spotify link from auth's event
            status, problem = await client.call("POST", "/api/v1/sync", expect=None, json={"a": a, "b": b})
            if not problem["type"].endswith("/provider-not-linked"):
                break
            await asyncio.sleep(0.5)
        assert (status, problem["type"].rsplit("/", 1)[-1]) == (422, kind), (a, b, problem)
    _, links = await client.call("GET", "/api/v1/sync")
    assert links["links"] == []
