"""Transfers, measured (`python -m bench --only transfers`, with `make up` running): the provider calls a
transfer makes beside the floor for its library, and its wall time beside what the target's rate limit
allows. The emulator keeps the providers' real limits (Deezer 50 requests per 5 s, TIDAL's token
bucket), and counts every call it answers (`/_admin/calls`).

1. A bench user links an emulated Spotify account holding one playlist of ``--transfer-tracks`` (1,000)
   distinct catalog tracks, and empty Deezer and TIDAL accounts, and imports the Spotify library.
2. For each target, a transfer (create mode, not a dry run) of that playlist: wall time from the request
   to the job's success, the target's calls by kind, and the floor: one ISRC lookup per track with an
   ISRC (TIDAL: 20 per call), one search per track the ISRC did not find (TIDAL: a search is two calls,
   the search and the read of its tracks), the playlist's creation (Deezer: two calls) and its adds at
   the target's largest batch (Deezer 500, TIDAL 50). The verifying read-back of the target is counted
   apart: the floor has no read, the product promises one.
3. A second user with the same library does the same (the warm cache: the floor is then the writes).
Figures are printed and written to docs/benchmarks.md between the transfer-bench markers.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.common import login
from bench.library import Client
from pm_contracts.transfers import MAX_LOOKUP
from pm_devstack.emulated_accounts import new_account_id
from pm_devstack.envfile import SERVICE_TOKEN
from pm_devstack.stack import Stack
from pm_platform.identity import service_credential

START, END = "<!-- transfer-bench:start -->", "<!-- transfer-bench:end -->"
TARGETS = ("deezer", "tidal")
# Distinct tracks in the emulator's Spotify catalog (above 11,000).
CATALOG_TRACKS = 11_000
ISRC_BATCH = {"deezer": 1, "tidal": 20}
ADD_BATCH = {"deezer": 500, "tidal": 50}
READ_PAGE = {"deezer": 2000, "tidal": 20}
CREATE_CALLS = {"deezer": 2, "tidal": 1}
SEARCH_CALLS = {"deezer": 1, "tidal": 2}


def _kind(provider: str, key: str) -> str:
    """The kind of one emulator call key ("METHOD /host/route template")."""
    method, path = key.split(" ", 1)
    if provider == "deezer":
        if method == "GET" and path.endswith("/track/{track_id}"):
            return "isrc"  # /track/isrc:{ISRC}
        if "/search" in path:
            return "search"
        if method == "POST" and path.endswith("/playlist/{playlist_id}/tracks"):
            return "add"
        if method == "POST" and ("/playlists" in path or path.endswith("/playlist/{playlist_id}")):
            return "create"
        if method == "GET" and path.endswith("/playlist/{playlist_id}/tracks"):
            return "read"
        return "other"
    if method == "GET" and path.endswith("/v2/tracks"):
        return "isrc+read"  # the ISRC lookups, and each search's read of its tracks
    if path.endswith("/searchResults"):
        return "search"
    if method == "POST" and path.endswith("/relationships/items"):
        return "add"
    if method == "POST" and path.endswith("/v2/playlists"):
        return "create"
    if method == "GET" and path.endswith("/relationships/items"):
        return "read"
    return "other"


async def _calls(session: aiohttp.ClientSession, emulator: str, host: str) -> dict[str, int]:
    async with session.get(f"{emulator}/_admin/calls", params={"host": host}) as r:
        return dict((await r.json())["calls"])


async def _wait(client: Client, job_id: str) -> dict[str, Any]:
    while True:
        status, job = await client.call("GET", f"/api/v1/jobs/{job_id}", expect=0)
        if status == 200 and job["state"] == "succeeded":
            return dict(job["result"])
        if status == 200 and job["state"] in ("failed", "cancelled"):
            raise SystemExit(f"bench: the transfer ended {job['state']}: {job.get('error')}")
        await asyncio.sleep(0.1)


async def _catalog_slice(session: aiohttp.ClientSession, emulator: str, offset: int, count: int) -> list[str]:
    """``count`` distinct Spotify catalog tracks from ``offset`` on (read through a throwaway account)."""
    account = new_account_id("spotify")
    library = {"playlists": [{"name": "slice", "size": offset + count}]}
    async with session.post(
        f"{emulator}/_admin/users", json={"provider": "spotify", "user_id": account, "library": library}
    ) as r:
        if r.status != 201:
            raise SystemExit(f"bench: the emulator refused an account: {await r.text()}")
    async with session.get(f"{emulator}/_admin/users/spotify/{account}") as r:
        return list((await r.json())["playlists"][0]["tracks"][offset:])


async def _user(
    session: aiohttp.ClientSession, gateway: str, emulator: str, token: str, ids: list[str]
) -> Client:
    client = Client(session, gateway, token)
    await client.link(emulator, "spotify", {"playlists": [{"name": "Bench transfer", "tracks": ids}]})
    for target in TARGETS:
        await client.link(emulator, target, {"playlists": []})
    while True:
        status, job = await client.call("POST", "/api/v1/library/imports", 0, json={"providers": ["spotify"]})
        if status == 202:
            break
        await asyncio.sleep(0.1)
    await _wait(client, job["job_id"])
    while True:  # the library applies the import from Kafka
        _, listed = await client.call("GET", "/api/v1/playlists?limit=200&collection=playlist")
        if any(p["entry_count"] == len(ids) for p in listed["playlists"]):
            return client
        await asyncio.sleep(0.1)


async def _transfer(
    client: Client, session: aiohttp.ClientSession, emulator: str, target: str
) -> dict[str, Any]:
    host = {"deezer": "api.deezer.com", "tidal": "openapi.tidal.com"}[target]
    before = await _calls(session, emulator, host)
    body = {"source": {"provider": "spotify", "collections": "playlists"}, "target": {"provider": target}}
    started = time.perf_counter()
    while True:
        status, job = await client.call("POST", "/api/v1/transfers", 0, json=body)
        if status == 202:
            break
        await asyncio.sleep(0.1)
    result = await _wait(client, job["job_id"])
    seconds = time.perf_counter() - started
    tracks: list[dict[str, Any]] = []
    while True:
        _, page = await client.call(
            "GET", f"/api/v1/transfers/{job['job_id']}/tracks?limit=1000&offset={len(tracks)}"
        )
        tracks += page["tracks"]
        if page["next_offset"] is None:
            break
    after = await _calls(session, emulator, host)
    kinds: dict[str, int] = {}
    for key, count in after.items():
        spent = count - before.get(key, 0)
        if spent:
            kinds[_kind(target, key)] = kinds.get(_kind(target, key), 0) + spent
    return {"seconds": seconds, "result": result, "kinds": kinds, "tracks": tracks}


def _floor(target: str, result: dict[str, Any], tracks: list[dict[str, Any]]) -> int:
    """The fewest calls for this library: an ISRC lookup for each track the cache did not know that has
    an ISRC (batched where the target takes several), a search for each such track its ISRC did not
    find, the creation and the adds at the largest batch."""
    unknown = [t for t in tracks if t["method"] != "catalog"]
    with_isrc = sum(1 for t in unknown if t["source"].get("isrc"))
    searched = [t for t in unknown if t["method"] != "isrc"]
    # TIDAL's search answers ids: a search that found something costs a second call to read them.
    search_calls = sum(
        SEARCH_CALLS[target] if (t["candidates"] or t["method"] == "search") else 1 for t in searched
    )
    writes = CREATE_CALLS[target] + math.ceil(result["written"] / ADD_BATCH[target])
    return math.ceil(with_isrc / ISRC_BATCH[target]) + search_calls + writes


def _allowed_seconds(target: str, calls: int) -> float:
    """The least time the emulator's (the provider's) limit allows for ``calls``."""
    if target == "deezer":  # 50 requests per 5 s, a sliding window
        return max(0, math.ceil(calls / 50) - 1) * 5.0
    return max(0.0, (calls - 200) / 20)  # TIDAL: a bucket of 200, 20 tokens a second


async def _least_known_window(session: aiohttp.ClientSession, stack: Stack, tracks: int) -> list[str]:
    """The window of ``tracks`` Spotify catalog tracks the shared cache knows least on the targets (on a
    stack that has run transfers before, most windows are partly known: the cold row says how many of
    its tracks the cache knew anyway, "catalog"). Asked of the catalog's internal lookup, sampling the
    first MAX_LOOKUP tracks of each window."""
    emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
    enrichment = f"http://127.0.0.1:{stack.spec('enrichment').port}/internal/catalog/lookup"
    auth = {"Authorization": service_credential(stack.secrets[SERVICE_TOKEN])}
    windows = max(1, CATALOG_TRACKS // tracks - 1)
    every = await _catalog_slice(session, emulator, 0, windows * tracks)
    known: list[int] = []
    for window in range(windows):
        sample = every[window * tracks : window * tracks + min(tracks, MAX_LOOKUP)]
        keys = [{"provider": "spotify", "provider_track_id": track} for track in sample]
        hits = 0
        for target in TARGETS:
            async with session.post(enrichment, headers=auth, json={"target": target, "tracks": keys}) as r:
                if r.status != 200:
                    raise SystemExit(f"bench: the catalog's lookup answered {r.status}: {await r.text()}")
                hits += sum(1 for hit in (await r.json())["hits"] if hit is not None)
        known.append(hits)
    least = known.index(min(known))
    return every[least * tracks : (least + 1) * tracks]


async def _run(stack: Stack, tokens: list[str], tracks: int) -> list[dict[str, Any]]:
    gateway = stack.gateway_url
    emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
    rows = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        ids = await _least_known_window(session, stack, tracks)
        for cache, token in zip(("cold", "warm"), tokens, strict=True):
            client = await _user(session, gateway, emulator, token, ids)
            for target in TARGETS:
                measured = await _transfer(client, session, emulator, target)
                result, kinds = measured["result"], measured["kinds"]
                reads = kinds.get("read", 0)
                spent = sum(kinds.values()) - reads
                floor = _floor(target, result, measured["tracks"])
                rows.append(
                    {
                        "target": target,
                        "cache": cache,
                        "tracks": result["tracks"],
                        "matched": result["matched"],
                        "methods": result["methods"],
                        "calls": spent,
                        "kinds": kinds,
                        "floor": floor,
                        "reads": reads,
                        "seconds": measured["seconds"],
                        "allowed": _allowed_seconds(target, spent + reads),
                    }
                )
                print(f"  {target:<7} {cache}: {rows[-1]}", flush=True)
    return rows


def run(tracks: int) -> str:
    stack = Stack.from_env()
    tokens = [login(stack.gateway_url), login(stack.gateway_url)]
    rows = asyncio.run(_run(stack, tokens, tracks))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores): "
        f"one playlist of {tracks} distinct tracks from emulated Spotify, the emulator at the providers' "
        "real limits. Calls are the target's, counted by the emulator; the verifying read-back is apart.",
        "",
        "| target | cache | matched | methods | calls | floor | over the floor | per track | read-back | "
        "wall time | the limit allows |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        over = (r["calls"] / r["floor"] - 1) * 100 if r["floor"] else 0.0
        methods = ", ".join(f"{k} {v}" for k, v in sorted(r["methods"].items()))
        lines.append(
            f"| {r['target']} | {r['cache']} | {r['matched']} / {r['tracks']} | {methods} | {r['calls']} | "
            f"{r['floor']} | {over:+.1f}% | {r['calls'] / max(r['tracks'], 1):.3f} | {r['reads']} | "
            f"{r['seconds']:.1f} s | {r['allowed']:.1f} s |"
        )
    return "\n".join(lines)
