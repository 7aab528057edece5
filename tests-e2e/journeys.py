"""What the end-to-end journeys share: a signed-in user's client of the gateway and the emulator's admin
API, with linking an emulated provider account through the real OAuth flow."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp

from pm_devstack.emulated_accounts import EmulatedAccount, link_emulated_account

TERMINAL = {"succeeded", "failed", "cancelled"}
# Polling a job: it runs on the stack's provider-sync; generous, since a resumed job waits for the
# runner's next look at paused jobs (every 30 s).
JOB_DEADLINE_S = 240


@dataclass
class Client:
    session: aiohttp.ClientSession
    gateway: str
    emulator: str
    user: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user['access_token']}", "X-Forwarded-For": self.user["ip"]}

    async def call(self, method: str, path: str, expect: int | None = 200, **kwargs: Any) -> tuple[int, Any]:
        """One request; a 429 is waited out as its Retry-After says, as a well-behaved client does (this
        test reads whole libraries faster than the gateway's per-user limit allows)."""
        for _ in range(30):
            async with self.session.request(
                method, f"{self.gateway}{path}", headers=self.headers, **kwargs
            ) as r:
                body = await r.json() if r.content_type.endswith("json") else None
                if r.status == 429 and expect != 429:
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                if expect is not None:
                    assert r.status == expect, (method, path, r.status, body)
                return r.status, body
        raise AssertionError(f"{method} {path}: still rate-limited after 30 waits")

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.session.request(method, f"{self.emulator}/_admin{path}", **kwargs) as r:
            assert r.status < 400, await r.text()
            return await r.json()

    async def link(self, provider: str, library: dict[str, Any]) -> EmulatedAccount:
        """An emulator account of ``provider`` holding ``library``, linked to the user through the gateway."""
        return await link_emulated_account(
            self.session,
            gateway=self.gateway,
            emulator=self.emulator,
            headers=self.headers,
            provider=provider,
            library=library,
        )

    async def job(self, job_id: str, until: set[str], deadline_s: float = JOB_DEADLINE_S) -> dict[str, Any]:
        """The job once its state is one of ``until`` (it must get there within ``deadline_s``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while True:
            status, job = await self.call("GET", f"/api/v1/jobs/{job_id}", expect=None)
            if status == 200 and job["state"] in until:
                return job
            assert status in (200, 404), (status, job)  # 404: the job's first event is not there yet
            if status == 200:
                assert job["state"] not in TERMINAL - until, job
            assert loop.time() < deadline, f"job {job_id} not {until} after {deadline_s} s: {job}"
            await asyncio.sleep(0.5)

    async def library(self) -> dict[str, dict[str, Any]]:
        """Every imported playlist of the user, with all its entries, by (provider, provider id)."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            _, page = await self.call("GET", "/api/v1/playlists", params=params)
            for p in page["playlists"]:
                if p["origin"]:
                    _, detail = await self.call(
                        "GET", f"/api/v1/playlists/{p['id']}", params={"limit": "500"}
                    )
                    found[f"{p['origin']['provider']}:{p['origin']['playlist_id']}"] = detail
            cursor = page["next_cursor"]
            if not cursor:
                return found

    async def once_linked(self, path: str, body: dict[str, Any], success: int) -> dict[str, Any]:
        """POST ``body`` to ``path`` until it answers ``success``: provider-sync learns of a new link from
        auth's event, and until it has, the provider is "not linked" there (422, checked too), so a
        request right after linking may have to be repeated."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            status, answer = await self.call("POST", path, expect=None, json=body)
            if status == success:
                return dict(answer)
            assert status == 422 and answer["type"].endswith("/provider-not-linked"), (status, answer)
            assert loop.time() < deadline, f"{path}: the provider never became linked for provider-sync"
            await asyncio.sleep(0.5)

    async def start_import(self, providers: list[str]) -> dict[str, Any]:
        """The import job, once provider-sync knows of the links."""
        return await self.once_linked("/api/v1/library/imports", {"providers": providers}, 202)

    async def import_all(self, providers: list[str]) -> dict[str, Any]:
        job = await self.start_import(providers)
        return await self.job(job["job_id"], {"succeeded"})

    async def start_transfer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The transfer job, once provider-sync knows of the target's link."""
        return await self.once_linked("/api/v1/transfers", body, 202)

    async def transfer_tracks(self, job_id: str) -> list[dict[str, Any]]:
        """Every per-track result of a transfer, page after page."""
        tracks: list[dict[str, Any]] = []
        while True:
            _, page = await self.call(
                "GET",
                f"/api/v1/transfers/{job_id}/tracks",
                params={"limit": "1000", "offset": str(len(tracks))},
            )
            tracks += page["tracks"]
            if page["next_offset"] is None:
                return tracks

    async def library_when(self, settled: Any) -> dict[str, dict[str, Any]]:
        """The library once ``settled(library)`` holds: the playlist service applies what an import sent
        from Kafka, a moment after the job has ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            found = await self.library()
            if settled(found):
                return found
            assert loop.time() < deadline, sorted(found)
            await asyncio.sleep(0.5)


def tracks_of(detail: dict[str, Any], provider: str) -> list[str]:
    return [e["track"]["provider_ids"].get(provider) for e in detail["entries"]["items"]]


async def forget_youtube_quota_days(redis_url: str) -> None:
    """provider-sync's quota ledger marked the provider's day that ended at the midnight a test moved the
    emulator's clock to as used up; with the clock back, that day is today again: forget it, for the
    tests that follow."""
    import redis.asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    try:
        used = [key async for key in redis.scan_iter(match="*:quota:youtube:*")]
        if used:
            await redis.delete(*used)
    finally:
        await redis.aclose()


def security_edge() -> ModuleType:
    """The raw-socket helpers of the transport's attack suite (tests-e2e/test_security_edge.py), loaded
    once under the name ``security_edge`` (pytest's importlib mode puts no test module on the path)."""
    loaded = sys.modules.get("security_edge")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        "security_edge", Path(__file__).resolve().parent / "test_security_edge.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["security_edge"] = module
    spec.loader.exec_module(module)
    return module
