"""The export service running for real (in-process, throwaway database, private Kafka topics, the real
S3 store) against the real playlist service, also in-process: what an export renders is what the library
answers. Both trust one stand-in gateway key. Each test makes users of its own (new user ids), so tests
share the services."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pm_export.app import definition as export_definition
from pm_platform.identity import Identity
from pm_platform.jobs import Job
from pm_platform.service import Runtime
from pm_platform.testing import GatewayIdentityKey, running_service
from pm_playlist.app import definition as playlist_definition

TERMINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Services:
    library: TestClient[web.Request, web.Application]
    export: TestClient[web.Request, web.Application]
    rt: Runtime  # the export service's
    gateway_key: GatewayIdentityKey

    def user(self) -> User:
        return User(self, uuid.uuid4())

    async def wait(self, job_id: str | uuid.UUID, deadline_s: float = 120.0) -> Job:
        """The job once it ended (it must within ``deadline_s``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while True:
            async with self.rt.pool.acquire() as conn:
                job = await self.rt.jobs.get(conn, uuid.UUID(str(job_id)))
            if job.state in TERMINAL:
                return job
            assert loop.time() < deadline, job
            await asyncio.sleep(0.2)


@dataclass
class User:
    services: Services
    id: uuid.UUID

    def headers(self) -> dict[str, str]:
        return self.services.gateway_key.headers(Identity(self.id, uuid.uuid4()))

    async def call(
        self, method: str, path: str, *, expect: int | None = None, service: str = "export", **kwargs: Any
    ) -> tuple[int, Any, Any]:
        """One request to the export service (or the library); the status, JSON body and headers."""
        client = self.services.export if service == "export" else self.services.library
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        response = await client.request(
            method, f"/api/v1{path}", headers=headers, allow_redirects=False, **kwargs
        )
        raw = await response.read()
        body = await response.json() if raw and response.content_type.endswith("json") else raw
        if expect is not None:
            assert response.status == expect, (response.status, body)
        return response.status, body, response.headers

    async def playlist(self, name: str, tracks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        _, body, _ = await self.call(
            "POST",
            "/playlists",
            service="library",
            json={"name": name, "tracks": tracks, **extra},
            expect=201,
        )
        return body

    async def entries(self, playlist_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            _, page, _ = await self.call(
                "GET",
                f"/playlists/{playlist_id}",
                service="library",
                params={"offset": str(offset), "limit": "500"},
                expect=200,
            )
            found += page["entries"]["items"]
            offset = page["entries"]["next_offset"]
        return found

    async def export(self, playlists: list[str] | str, export_format: str) -> Job:
        _, job, headers = await self.call(
            "POST", "/exports", json={"playlists": playlists, "format": export_format}, expect=202
        )
        assert headers["Location"] == f"/api/v1/jobs/{job['job_id']}"
        return await self.services.wait(job["job_id"])


@pytest.fixture(scope="module")
async def services(service_env_factory: Any) -> AsyncIterator[Services]:
    gateway_key = GatewayIdentityKey.generate()
    library_env = await service_env_factory("playlist")
    library_env["IDENTITY_PUBLIC_KEYS"] = gateway_key.public_keys
    async with running_service(playlist_definition(), library_env) as (library, _):
        export_env = await service_env_factory("export")
        export_env["IDENTITY_PUBLIC_KEYS"] = gateway_key.public_keys
        export_env["PLAYLIST_URL"] = str(library.make_url("")).rstrip("/")
        async with running_service(export_definition(), export_env) as (export, rt):
            yield Services(library, export, rt, gateway_key)
