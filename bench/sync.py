"""Sync, measured (`python -m bench --only sync`, with `make up` running): what a two-way run between a
Spotify playlist and a TIDAL playlist of ``--sync-tracks`` (5,000) songs costs, in provider calls and
wall time, at the providers' real limits (the emulator keeps them and counts every call it answers).

1. A bench user links an emulated Spotify account holding the playlist and a TIDAL account holding the
   same songs (their TIDAL ids, from the emulator's ground truth), and links the two two-way.
2. The first run: both ends read in full; every song is already on the other end, so it is paired
   there (no search) and nothing is written.
3. A run with nothing changed: the target is one call per end (the change markers) and no write.
4. ``--sync-changes`` (100) changes on each end — half additions (songs the other end lacks), three in
   ten removals, the rest moves, each end's on other songs — then a run: both ends read at once, the
   additions matched on the other end, each end edited with its smallest operations; calls by end and
   wall time, beside the least time each provider's limit allows for its calls (the two ends are asked
   at once: the run's floor is the larger).
Figures are printed and written to docs/benchmarks.md between the sync-bench markers.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bench.common import login
from bench.library import Client
from bench.transfers import _allowed_seconds, _calls, _catalog_slice
from pm_devstack.stack import Stack
from pm_providers import ProviderAdapter, Providers, StaticTokenSource
from pm_providers.settings import ProviderSettings

START, END = "<!-- sync-bench:start -->", "<!-- sync-bench:end -->"
HOSTS = {"spotify": "api.spotify.com", "tidal": "openapi.tidal.com"}
# Ground-truth lookups in flight at once (the emulator's admin API, not a provider).
MAPPING_CONCURRENCY = 16


async def _tidal_ids(session: aiohttp.ClientSession, emulator: str, spotify_ids: list[str]) -> list[str]:
    slots = asyncio.Semaphore(MAPPING_CONCURRENCY)

    async def one(sid: str) -> str:
        async with slots, session.get(f"{emulator}/_admin/catalog/mapping", params={"spotify_id": sid}) as r:
            found = (await r.json())["recordings"][0]["tidal"]
        return str(found[0]) if found else ""

    return list(await asyncio.gather(*(one(s) for s in spotify_ids)))


async def _playlist_id(session: aiohttp.ClientSession, emulator: str, provider: str, account: str) -> str:
    async with session.get(f"{emulator}/_admin/users/{provider}/{account}") as r:
        return str((await r.json())["playlists"][0]["id"])


async def _measured_run(
    client: Client, session: aiohttp.ClientSession, emulator: str, link_id: str
) -> dict[str, Any]:
    before = {p: await _calls(session, emulator, host) for p, host in HOSTS.items()}
    started = time.perf_counter()
    _, job = await client.call("POST", f"/api/v1/sync/{link_id}/run", 202)
    while True:
        status, found = await client.call("GET", f"/api/v1/jobs/{job['job_id']}", expect=0)
        if status == 200 and found["state"] == "succeeded":
            break
        if status == 200 and found["state"] in ("failed", "cancelled", "paused"):
            raise SystemExit(f"bench: the sync run ended {found['state']}: {found.get('error')}")
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - started
    calls = {}
    for provider, host in HOSTS.items():
        after = await _calls(session, emulator, host)
        calls[provider] = sum(after.values()) - sum(before[provider].values())
    return {"seconds": seconds, "calls": calls, "result": found["result"], "job_id": job["job_id"]}


async def _edit(
    adapter: ProviderAdapter, playlist_id: str, additions: list[str], changes: int, shift: float
) -> None:
    """``changes`` edits of one end as its owner makes them: half additions, three in ten removals (spread
    over the playlist), the rest moves (a run of songs to the front). ``shift`` (0..1) places the removals
    and the moved run, so the two ends' edits touch different songs."""
    removals, moves = changes * 3 // 10, changes - changes // 2 - changes * 3 // 10
    held = await adapter.read_all(playlist_id)
    step = len(held) // (removals + 1)
    offset = int(step * shift)
    await adapter.remove_tracks(playlist_id, [held[i * step + offset] for i in range(removals)])
    held = await adapter.read_all(playlist_id)
    start = int(len(held) * (0.25 + shift / 2))
    moved = held[start : start + moves]
    await adapter.reorder(playlist_id, held, [*moved, *held[:start], *held[start + moves :]])
    await adapter.add_tracks(playlist_id, additions)


async def _run(stack: Stack, token: str, tracks: int, changes: int) -> list[dict[str, Any]]:
    gateway = stack.gateway_url
    emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
    env = stack.service_env("provider-sync")
    added = changes // 2
    rows: list[dict[str, Any]] = []
    redis = aioredis.from_url(env["REDIS_URL"])
    settings = ProviderSettings(PROVIDER_REDIS_PREFIX=f"bench-sync:{uuid.uuid4().hex[:8]}").for_emulator(
        emulator
    )
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
        Providers(settings, redis) as providers,
    ):
        wanted = tracks + 2 * added
        # Songs TIDAL has too (not every catalog song is on every service).
        ids = await _catalog_slice(session, emulator, 0, wanted * 5 // 4)
        on_tidal = [(s, t) for s, t in zip(ids, await _tidal_ids(session, emulator, ids), strict=True) if t]
        if len(on_tidal) < wanted:
            raise SystemExit(f"bench: only {len(on_tidal)} catalog songs are on TIDAL too; {wanted} needed")
        songs = [s for s, _ in on_tidal[:tracks]]
        new_a = [s for s, _ in on_tidal[tracks : tracks + added]]
        tidal = [t for _, t in on_tidal[:tracks]] + [t for _, t in on_tidal[tracks + added : wanted]]
        client = Client(session, gateway, token)
        spotify_account = await client.link(
            emulator, "spotify", {"playlists": [{"name": "Bench sync", "tracks": songs}]}
        )
        tidal_account = await client.link(
            emulator, "tidal", {"playlists": [{"name": "Bench sync", "tracks": tidal[:tracks]}]}
        )
        ends = {
            "spotify": await _playlist_id(session, emulator, "spotify", spotify_account.id),
            "tidal": await _playlist_id(session, emulator, "tidal", tidal_account.id),
        }
        body = {
            "a": {"provider": "spotify", "playlist_id": ends["spotify"]},
            "b": {"provider": "tidal", "playlist_id": ends["tidal"]},
            "direction": "two_way",
            "max_removal_share": 1.0,
        }
        while True:  # provider-sync learns of the links from auth's events
            status, link = await client.call("POST", "/api/v1/sync", 0, json=body)
            if status == 201:
                break
            await asyncio.sleep(0.2)
        for name in ("first run (every song on both ends)", "nothing changed"):
            measured = await _measured_run(client, session, emulator, link["id"])
            rows.append({"run": name, **measured})
            print(f"  {name}: {rows[-1]}", flush=True)
        adapters = {
            provider: providers.adapter(
                provider, StaticTokenSource(account.tokens["access_token"]), user_key=account.id
            )
            for provider, account in (("spotify", spotify_account), ("tidal", tidal_account))
        }
        await _edit(adapters["spotify"], ends["spotify"], new_a, changes, 0.2)
        await _edit(adapters["tidal"], ends["tidal"], tidal[tracks:], changes, 0.7)
        name = f"{changes} changes on each end"
        measured = await _measured_run(client, session, emulator, link["id"])
        rows.append({"run": name, **measured})
        print(f"  {name}: {rows[-1]}", flush=True)
        for row in rows:  # every run's ends read back as it planned them
            _, view = await client.call("GET", f"/api/v1/sync/runs/{row['job_id']}")
            if view["report"].get("differs"):
                raise SystemExit(f"bench: {row['run']}: an end did not read back as planned")
    await redis.aclose()
    return rows


def _spotify_allows(calls: int) -> float:
    """The least time Spotify's (the emulator's) limit allows for ``calls``: 180 calls per 30 s, sliding."""
    return max(0, math.ceil(calls / 180) - 1) * 30.0


def run(tracks: int, changes: int) -> str:
    stack = Stack.from_env()
    rows = asyncio.run(_run(stack, login(stack.gateway_url), tracks, changes))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores): a "
        f"two-way link between an emulated Spotify playlist and a TIDAL playlist of {tracks} songs, the "
        "emulator at the providers' real limits. Calls are counted by the emulator.",
        "",
        "| run | Spotify calls | TIDAL calls | added a / b | removed a / b | moved a / b | wall time | "
        "the limits allow (Spotify, TIDAL) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        result, calls = r["result"], r["calls"]
        a, b = result["a"], result["b"]
        lines.append(
            f"| {r['run']} | {calls['spotify']} | {calls['tidal']} | {a['added']} / {b['added']} | "
            f"{a['removed']} / {b['removed']} | {a['moved']} / {b['moved']} | {r['seconds']:.1f} s | "
            f"{_spotify_allows(calls['spotify']):.1f} s, {_allowed_seconds('tidal', calls['tidal']):.1f} s |"
        )
    return "\n".join(lines)
