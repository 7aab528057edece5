"""Transfers that survive what goes wrong, through the gateway: the same library moved to Deezer and to
TIDAL at once while both providers answer 5 % of requests with 503 and storm with 429s, provider-sync is
killed (SIGKILL) twice mid-run and Kafka is restarted once. Both complete with every matched track on the
target exactly once, in the source's order, and one target playlist per source. A transfer to YouTube
that runs out of its daily quota pauses and completes by itself once the provider's day has turned."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from journeys import Client, forget_youtube_quota_days, link_account

from pm_devstack import lifecycle
from pm_devstack.ports import port_in_use
from pm_devstack.stack import Stack
from pm_providers.domain.calendar import next_pacific_midnight

# Real playlists of the emulator's catalog, other than those test_transfers.py moves (a fresh stack's
# catalog has not learnt them: the matcher really searches).
SOURCES = ({"name": "Gym", "source_playlist": 5}, {"name": "Dinner", "source_playlist": 6})
# A storm of 429s short enough to be waited out (Deezer says "quota" in its answer and gives no
# Retry-After; a storm that never ends pauses a job for its unknown reset instead).
FAULTS = {"error_rate": 0.05, "error_status": 503, "storm_requests": 6, "storm_retry_after": 1}


@pytest.fixture
async def client(gateway_url: str, stack: Stack, register_user) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        yield Client(session, gateway_url, emulator, await register_user())


async def _start(client: Client, body: dict[str, Any]) -> str:
    for _ in range(120):
        status, job = await client.call("POST", "/api/v1/transfers", expect=None, json=body)
        if status == 202:
            return str(job["job_id"])
        assert status == 422 and job["type"].endswith("/provider-not-linked"), (status, job)
        await asyncio.sleep(0.5)
    raise AssertionError("the target never became linked for provider-sync")


async def _progress(client: Client, job_id: str) -> float:
    status, job = await client.call("GET", f"/api/v1/jobs/{job_id}", expect=None)
    return float(job["progress"]) if status == 200 else 0.0


async def _when(client: Client, jobs: list[str], at_least: float) -> None:
    """Until one of ``jobs`` has reached ``at_least`` progress (or every one has ended)."""
    for _ in range(1200):
        states = []
        for job_id in jobs:
            status, job = await client.call("GET", f"/api/v1/jobs/{job_id}", expect=None)
            if status == 200:
                if job["progress"] >= at_least:
                    return
                states.append(job["state"])
        if states and all(s in ("succeeded", "failed", "cancelled") for s in states):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"no job reached {at_least}")


async def _kill_provider_sync(stack: Stack) -> None:
    """kill -9, then start it again as the stack does (the job's lease runs out; another run resumes)."""
    pid = int((stack.config.run_dir / "provider-sync.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    port = stack.spec("provider-sync").port
    for _ in range(200):  # gone, and its port with it (the kernel closes its sockets as it reaps it)
        if not Path(f"/proc/{pid}").exists() and not port_in_use(port):
            break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(lifecycle.restart, stack, "provider-sync", say=lambda _: None)


async def _provider_tracks(client: Client, provider: str, token: str, playlist_id: str) -> list[str]:
    if provider == "deezer":
        url, params = (
            f"{client.emulator}/api.deezer.com/playlist/{playlist_id}/tracks",
            {"access_token": token, "limit": "2000"},
        )
        async with client.session.get(url, params=params) as r:
            return [str(t["id"]) for t in (await r.json())["data"]]
    found: list[str] = []
    url: str | None = f"{client.emulator}/openapi.tidal.com/v2/playlists/{playlist_id}/relationships/items"
    while url:
        async with client.session.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            body = await r.json()
        found += [str(item["id"]) for item in body["data"]]
        nxt = body.get("links", {}).get("next")
        url = f"{client.emulator}/openapi.tidal.com/v2{nxt}" if nxt else None
    return found


async def test_transfers_to_deezer_and_tidal_survive_faults_kills_and_a_kafka_restart(
    client: Client, consent, stack: Stack
):
    spotify = await link_account(client, consent, "spotify", {"playlists": list(SOURCES)})
    targets = {p: await link_account(client, consent, p, {"playlists": []}) for p in ("deezer", "tidal")}
    await client.import_all(["spotify"])
    await client.library_when(lambda found: sum(k.startswith("spotify:") for k in found) == 3)
    del spotify
    body = {"source": {"provider": "spotify", "collections": "playlists"}}
    try:
        for provider in targets:
            await client.admin("PUT", f"/faults/{provider}", json=FAULTS)
        jobs = {p: await _start(client, {**body, "target": {"provider": p}}) for p in targets}
        await _when(client, list(jobs.values()), 0.1)
        await _kill_provider_sync(stack)
        await asyncio.to_thread(lifecycle.restart, stack, "kafka", say=lambda _: None)
        await _when(client, list(jobs.values()), 0.72)
        await _kill_provider_sync(stack)
        results = {p: (await client.job(j, {"succeeded"}))["result"] for p, j in jobs.items()}
    finally:
        for provider in targets:
            await client.admin("DELETE", f"/faults/{provider}")

    for provider, job_id in jobs.items():
        result = results[provider]
        assert result["playlists"] == 2 and result["written"] == result["matched"] > 0, result
        _, page = await client.call("GET", f"/api/v1/transfers/{job_id}/tracks", params={"limit": "1000"})
        tracks = page["tracks"]
        assert len(tracks) == result["tracks"] and all(t["status"] != "pending" for t in tracks)
        _, view = await client.call("GET", f"/api/v1/transfers/{job_id}")
        assert [(p["playlist"], p["part"]) for p in view["parts"]] == [(0, 1), (1, 1)]
        token = targets[provider]["tokens"]["access_token"]
        for part in view["parts"]:
            expected = [
                t["target_id"]
                for t in tracks
                if t["playlist"] == part["playlist"] and t["status"] == "matched"
            ]
            # Every matched track exactly once, in the source's order: nothing duplicated, nothing skipped.
            assert await _provider_tracks(client, provider, token, part["target_playlist_id"]) == expected
        # One target playlist per source, however often the job was stopped.
        truth = await client.admin("GET", f"/users/{provider}/{targets[provider]['id']}")
        created = [p for p in truth["playlists"] if p["name"] in {s["name"] for s in SOURCES}]
        assert sorted(p["name"] for p in created) == sorted(s["name"] for s in SOURCES), truth["playlists"]
        _, report = await client.call("GET", f"/api/v1/transfers/{job_id}/report")
        assert report["not_written"] == result["tracks"] - result["matched"]


async def test_a_transfer_to_youtube_out_of_quota_resumes_after_the_providers_reset(
    client: Client, consent, stack: Stack
):
    await link_account(client, consent, "spotify", {"playlists": [{"name": "Short", "source_playlist": 7}]})
    youtube = await link_account(client, consent, "youtube", {"playlists": []})
    await client.import_all(["spotify"])
    await client.library_when(lambda found: sum(k.startswith("spotify:") for k in found) == 2)
    limits = (await client.admin("GET", "/rate-limits"))["providers"]["youtube"]
    emulator_now = datetime.fromtimestamp((await client.admin("GET", "/clock"))["now"], UTC)
    midnight = next_pacific_midnight(emulator_now)
    try:
        await client.admin("POST", "/clock", json={"advance": (midnight - emulator_now).total_seconds() - 25})
        await client.admin("PUT", "/rate-limits/youtube", json={"search_calls_per_day": 3})
        job_id = await _start(
            client,
            {
                "source": {"provider": "spotify", "collections": "playlists"},
                "target": {"provider": "youtube"},
            },
        )
        paused = await client.job(job_id, {"paused"})
        assert paused["error"]["code"] == "provider-quota", paused
        await client.admin(
            "PUT", "/rate-limits/youtube", json={"search_calls_per_day": limits["search_calls_per_day"]}
        )
        done = await client.job(job_id, {"succeeded"})
        clock = await client.admin("GET", "/clock")
        assert datetime.fromtimestamp(clock["now"], UTC) > midnight  # resumed after the provider's reset
    finally:
        await client.admin(
            "PUT", "/rate-limits/youtube", json={"search_calls_per_day": limits["search_calls_per_day"]}
        )
        await client.admin("POST", "/clock", json={"offset": 0})
        await forget_youtube_quota_days(stack.redis_url())
    result = done["result"]
    assert result["written"] == result["matched"] > 0 and result["days_needed"] == 0, result
    _, view = await client.call("GET", f"/api/v1/transfers/{job_id}")
    [part] = view["parts"]
    truth = await client.admin("GET", f"/users/youtube/{youtube['id']}")
    [playlist] = [p for p in truth["playlists"] if p["id"] == part["target_playlist_id"]]
    _, page = await client.call("GET", f"/api/v1/transfers/{job_id}/tracks", params={"limit": "1000"})
    assert playlist["tracks"] == [t["target_id"] for t in page["tracks"] if t["status"] == "matched"]
