"""The library, measured (`python -m bench --only library`, with `make up` running).

On the same machine and in the same run:
1. a bare aiohttp "hello" server (bench/hello.py) and a gateway process of the stack's code and
   configuration whose PLAYLIST_URL is the stack's real playlist service (rate limiter on, its general
   limit raised above the offered load, as in the gateway bench);
2. a bench user (registered and logged in through that gateway) and a playlist of 10,000 entries of
   distinct tracks, created through the API;
3. the operations, one at a time, ``--library-samples`` times each (p50 and p95): the list, a page of
   100 entries just after a write (from the database) and again (from the cache), add 100 entries
   (tracks already in it), move the last entry to the top (every position shifts), deduplicate (the
   100 just added go), restore the version before the add; the playlist stays at 10,000 entries;
4. the hot read — the authenticated, cached page through the gateway to the playlist service — closed
   loop against the bare server (the ratio the target is about: ≥ 15%), open loop at 10% of the bare
   rate (p99 < 25 ms), and conditional requests (``If-None-Match`` of the current ETag: 304s).
The playlist is deleted at the end. Figures are printed and written to docs/benchmarks.md between the
library-bench markers.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.common import BENCH_IP, bench_servers, column, load, median, row, say
from pm_devstack.emulated_accounts import EmulatedAccount, LinkFailed, link_emulated_account
from pm_devstack.stack import Stack

START, END = "<!-- library-bench:start -->", "<!-- library-bench:end -->"
ENTRIES = 10_000
PAGE = 100


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session, self.base = session, base
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": BENCH_IP}

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> tuple[Any, Any]:
        """(milliseconds, parsed body) of one request; a status other than ``expect`` ends the bench.
        ``expect=0``: any status, and (status, body) instead."""
        started = time.perf_counter()
        async with self.session.request(method, f"{self.base}{path}", headers=self.headers, **kwargs) as r:
            body = await r.read()
            elapsed = (time.perf_counter() - started) * 1000
            parsed = json.loads(body) if body and r.content_type.endswith("json") else None
            if expect == 0:
                return r.status, parsed
            if r.status != expect:
                raise SystemExit(f"bench: {method} {path} answered {r.status}: {body[:300]!r}")
            return elapsed, parsed

    async def link(self, emulator: str, provider: str, library: dict[str, Any]) -> EmulatedAccount:
        """A new emulator account holding ``library``, linked through the gateway's OAuth flow."""
        try:
            return await link_emulated_account(
                self.session,
                gateway=self.base,
                emulator=emulator,
                headers=self.headers,
                provider=provider,
                library=library,
            )
        except LinkFailed as error:
            raise SystemExit(f"bench: {error}") from None


async def _operations(client: Client, samples: int) -> tuple[str, dict[str, list[float]]]:
    tracks = [
        {"title": f"Bench song {i}", "artists": [f"Artist {i % 500}"], "duration_ms": 180_000 + i * 7}
        for i in range(ENTRIES)
    ]
    _, created = await client.call(
        "POST", "/api/v1/playlists", 201, json={"name": "Bench 10k", "tracks": tracks}
    )
    pid = created["id"]
    timings: dict[str, list[float]] = {
        name: []
        for name in (
            "list playlists",
            "page of 100, after a write",
            "page of 100, cached",
            "add 100",
            "move one (last to first)",
            "dedupe (100 found)",
            "restore a version",
        )
    }
    for n in range(samples):
        ms, _ = await client.call("GET", "/api/v1/playlists")
        timings["list playlists"].append(ms)
        offset = (n * 1237) % (ENTRIES - PAGE)
        _, page = await client.call("GET", f"/api/v1/playlists/{pid}?offset={offset}&limit={PAGE}")
        again = [e["track"]["id"] for e in page["entries"]["items"]]
        ms, _ = await client.call("GET", f"/api/v1/playlists/{pid}?offset={offset}&limit={PAGE}")
        timings["page of 100, cached"].append(ms)
        ms, added = await client.call(
            "POST", f"/api/v1/playlists/{pid}/entries", json={"tracks": [{"track_id": t} for t in again]}
        )
        timings["add 100"].append(ms)
        before_add = added["version"] - 1
        ms, _ = await client.call("GET", f"/api/v1/playlists/{pid}?offset={offset}&limit={PAGE}")
        timings["page of 100, after a write"].append(ms)
        _, last = await client.call("GET", f"/api/v1/playlists/{pid}?offset={ENTRIES + PAGE - 1}&limit=1")
        last_id = last["entries"]["items"][0]["id"]
        ms, _ = await client.call(
            "POST", f"/api/v1/playlists/{pid}/entries/move", json={"entry_ids": [last_id], "to": 0}
        )
        timings["move one (last to first)"].append(ms)
        ms, deduped = await client.call("POST", f"/api/v1/playlists/{pid}/dedupe", json={})
        timings["dedupe (100 found)"].append(ms)
        if len(deduped["duplicates"]) != PAGE:
            raise SystemExit(f"bench: dedupe found {len(deduped['duplicates'])} duplicates, not {PAGE}")
        ms, restored = await client.call("POST", f"/api/v1/playlists/{pid}/versions/{before_add}/restore")
        timings["restore a version"].append(ms)
        if restored["entry_count"] != ENTRIES:
            raise SystemExit(f"bench: the playlist holds {restored['entry_count']} entries after a restore")
    return pid, timings


async def _job(client: Client, job_id: str) -> tuple[float, dict[str, Any]]:
    """Seconds until the job succeeded, and its result."""
    started = time.perf_counter()
    while True:
        status, job = await client.call("GET", f"/api/v1/jobs/{job_id}", expect=0)
        if status == 200 and job["state"] == "succeeded":
            return time.perf_counter() - started, job["result"]
        if status == 200 and job["state"] in ("failed", "cancelled", "paused"):
            raise SystemExit(f"bench: the import job ended {job['state']}: {job.get('error')}")
        await asyncio.sleep(0.05)


async def _imports(client: Client, session: aiohttp.ClientSession, emulator: str) -> list[dict[str, Any]]:
    """Every provider's demo library (the same playlists' sizes and liked songs, under new accounts) linked
    and imported; then imported again with nothing changed. Each: wall time until the job succeeded
    and the library shows every playlist, and the job's counts of playlists, tracks and provider calls."""
    async with session.get(f"{emulator}/_admin/demo") as r:
        demo = (await r.json())["users"]
    for provider, account in demo.items():
        library = {
            "playlists": [{"name": p["name"], "size": p["track_count"]} for p in account["playlists"]],
            "liked_count": account["liked_count"],
        }
        await client.link(emulator, provider, library)
    rows = []
    for run in ("first import", "again, nothing changed"):
        started = time.perf_counter()
        while True:  # provider-sync learns of the links from auth's events: "not linked" until then
            status, job = await client.call(
                "POST", "/api/v1/library/imports", 0, json={"providers": list(demo)}
            )
            if status == 202:
                break
            if status != 422:
                raise SystemExit(f"bench: the import was refused: {status} {job}")
            await asyncio.sleep(0.1)
        _, result = await _job(client, job["job_id"])
        expected = result["playlists_seen"]
        while True:  # the playlist service applies what the job sent, from Kafka
            _, listed = await client.call("GET", "/api/v1/playlists?limit=200")
            if sum(1 for p in listed["playlists"] if p["origin"]) >= expected:
                break
            await asyncio.sleep(0.05)
        rows.append({"run": run, "seconds": time.perf_counter() - started, **result})
    return rows


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(duration: float, concurrency: int, rounds: int, samples: int) -> str:
    stack = Stack.from_env()
    playlist_url = f"http://127.0.0.1:{stack.spec('playlist').port}"
    with bench_servers(stack, "playlist", playlist_url) as servers:
        hello_url, gateway, token = servers.hello_url, servers.gateway, servers.token
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"

        async def prepare() -> tuple[str, dict[str, list[float]], str, list[dict[str, Any]]]:
            timeout = aiohttp.ClientTimeout(total=300)
            jar = aiohttp.CookieJar(unsafe=True)  # the link flow's binding cookie, on an IP-address host
            async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as session:
                client = Client(session, gateway, token)
                imports = await _imports(client, session, emulator)
                pid, timings = await _operations(client, samples)
                async with session.get(f"{gateway}/api/v1/playlists/{pid}", headers=client.headers) as r:
                    etag = r.headers["ETag"]
                return pid, timings, etag, imports

        print(f"bench: the demo libraries imported, then operations on {ENTRIES:,} entries", flush=True)
        pid, timings, etag, imports = asyncio.run(prepare())
        for r in imports:
            print(
                f"  {r['run']:<30} {r['seconds']:6.2f} s  {r['playlists_seen']} playlists, {r['tracks_read']} tracks, "
                f"{r['calls']} provider calls"
            )
        for name, values in timings.items():
            print(
                f"  {name:<30} p50 {statistics.median(values):8.1f} ms  p95 {_percentile(values, 0.95):8.1f} ms"
            )
        auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": BENCH_IP}
        page = f"{gateway}/api/v1/playlists/{pid}?limit={PAGE}"
        bares, hots = [], []
        for _ in range(rounds):
            bares.append(load(hello_url, duration=duration, concurrency=concurrency))
            say("bare aiohttp hello", bares[-1])
            hots.append(load(page, duration=duration, concurrency=concurrency, headers=auth))
            say("gateway -> playlist page", hots[-1])
        bare, hot = median(bares), median(hots)
        target_rate = 0.1 * bare["rps"]
        at_targets = []
        for _ in range(rounds):
            at_targets.append(load(page, duration=duration, rate=target_rate, headers=auth))
            say(f"  open loop at {target_rate:.0f}/s", at_targets[-1])
        at_target = median(at_targets, "p99_ms", upper=True)
        conditional = load(
            page, duration=duration, concurrency=concurrency, headers={**auth, "If-None-Match": etag}
        )
        say("gateway -> playlist, 304", conditional)

        async def clean_up() -> None:
            async with aiohttp.ClientSession() as session:
                await Client(session, gateway, token).call("DELETE", f"/api/v1/playlists/{pid}", 204)

        asyncio.run(clean_up())

    ratio = hot["rps"] / bare["rps"] if bare["rps"] else 0.0
    verdict_rate = "met" if ratio >= 0.15 else "NOT met"
    verdict_p99 = "met" if at_target["p99_ms"] < 25 else "NOT met"
    print(
        f"bench: hot read {hot['rps']:.0f} req/s = {ratio:.1%} of bare {bare['rps']:.0f} (target ≥ 15%: "
        f"{verdict_rate}); p99 at {target_rate:.0f}/s = {at_target['p99_ms']:.2f} ms (target < 25 ms: {verdict_p99})"
    )
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}), `python -m bench --only library`: a "
        f"playlist of {ENTRIES:,} entries through a gateway process to the stack's playlist service "
        f"(PostgreSQL, Redis, Kafka of `make up`); {samples} samples of each operation, one at a time.",
        "",
        "Import of the emulator's demo library of every provider (Spotify, Deezer, TIDAL, YouTube: each demo "
        "account's playlist sizes and 150 liked songs, under new accounts), all four providers in one job, "
        "timed from the request until the library shows every playlist:",
        "",
        "| run | seconds | playlists | tracks read | provider calls | calls per playlist | calls per track |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['run']} | {r['seconds']:.2f} | {r['playlists_seen']} | {r['tracks_read']} | {r['calls']} | "
            f"{r['calls'] / max(r['playlists_seen'], 1):.2f} | "
            f"{(r['calls'] / r['tracks_read']) if r['tracks_read'] else 0:.3f} |"
            for r in imports
        ),
        "",
        "| operation (10,000 entries) | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *(
            f"| {name} | {statistics.median(v):.1f} | {_percentile(v, 0.95):.1f} |"
            for name, v in timings.items()
        ),
        "",
        f"The hot read: `GET /api/v1/playlists/{{id}}?limit={PAGE}` (cached) through the gateway, {duration:.0f} s "
        f"a row, closed-loop rounds: bare {column(bares, 'rps', 0)}, hot read {column(hots, 'rps', 0)} req/s "
        f"(the medians kept).",
        "",
        "| target | offered load | req/s | p50 ms | p95 ms | p99 ms | ok/sent |",
        "|---|---|---:|---:|---:|---:|---:|",
        row("bare aiohttp `GET /hello`", bare, f"closed loop, {concurrency} connections"),
        row("gateway → playlist page (cached)", hot, f"closed loop, {concurrency} connections"),
        row("gateway → playlist page (cached)", at_target, f"open loop, {target_rate:.0f}/s (10% of bare)"),
        row(
            "gateway → playlist page, `If-None-Match` (304)",
            conditional,
            f"closed loop, {concurrency} connections",
        ),
        "",
        f"Hot read / bare server: **{ratio:.1%}** (target ≥ 15%: {verdict_rate}). p99 at 10% of the bare rate: "
        f"**{at_target['p99_ms']:.2f} ms** (target < 25 ms: {verdict_p99}).",
    ]
    return "\n".join(lines)
