"""provider-sync running for real (in-process, throwaway database, private Kafka topics) against a provider
emulator started in this process (its own port and state: the shared dev emulator on 3199 is untouched),
with auth played by a stand-in that speaks auth's internal token endpoint
(``POST /internal/provider-tokens/{user_id}/{provider}``, docs/security.md) and hands out the tokens of
accounts made through the emulator's admin API, as the providers' contract suite gets its tokens.

Each test makes users of its own (a new user id, new emulator accounts), so tests share the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pm_contracts.provider_links import ProviderLinked
from pm_devstack.stack import PROVIDER_HOSTS
from pm_platform.identity import Identity, service_credential
from pm_platform.jobs import Job
from pm_platform.service import Runtime
from pm_platform.testing import GatewayIdentityKey, published_events, running_service, stand_in_server
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.testing import EmulatorAdmin, started_emulator
from pm_provider_sync.app import definition
from pm_provider_sync.resources import PROVIDERS
from pm_provider_sync.usecases import links
from pm_providers import ProviderAdapter, StaticTokenSource

API_HOSTS = {
    "spotify": "api.spotify.com",
    "deezer": "api.deezer.com",
    "tidal": "openapi.tidal.com",
    "youtube": "www.googleapis.com",
}


@dataclass
class Account:
    """A user of the emulated provider, with a library and a token."""

    provider: str
    id: str
    token: str
    playlists: dict[str, str]  # name → provider playlist id


class Emulator(EmulatorAdmin):
    async def account(self, provider: str, playlists: list[dict[str, Any]], liked: int = 0) -> Account:
        body = await self.admin(
            "POST",
            "/users",
            {"provider": provider, "library": {"playlists": playlists, "liked_count": liked}},
        )
        user = body["user"]
        return Account(
            provider,
            user["id"],
            body["tokens"]["access_token"],
            {p["name"]: p["id"] for p in user["playlists"]},
        )

    async def new_token(self, account: Account) -> str:
        body = await self.admin("POST", f"/users/{account.provider}/{account.id}/tokens", {})
        return str(body["access_token"])

    async def calls(self, provider: str) -> dict[str, int]:
        """Calls to the provider's API since the last reset, by endpoint."""
        body = await self.admin("GET", f"/calls?host={API_HOSTS[provider]}")
        return {k: v for k, v in body["calls"].items() if API_HOSTS[provider] in k}

    async def reset_calls(self) -> None:
        await self.admin("DELETE", "/calls")

    @contextlib.asynccontextmanager
    async def faults(self, provider: str, **config: Any) -> AsyncIterator[None]:
        """The provider misbehaves (``PUT /_admin/faults``) while inside."""
        await self.admin("PUT", f"/faults/{provider}", config)
        try:
            yield
        finally:
            await self.admin("DELETE", f"/faults/{provider}")


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with started_emulator(EmulatorSettings(rate_limits=False), Emulator) as started:
        yield started


@dataclass
class AuthStandIn:
    """Plays auth's token endpoint: the linked accounts' tokens; a revoked link answers 409 (re-consent),
    an unknown one 404; a token named as refused is replaced by a new one from the emulator. ``gate``, when
    set, holds every answer until it opens."""

    emulator: Emulator
    service_token: str
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    revoked: set[tuple[str, str]] = field(default_factory=set)
    gate: asyncio.Event | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != service_credential(self.service_token):
            return web.json_response({"title": "no credential"}, status=401)
        if self.gate is not None:
            await self.gate.wait()
        key = (request.match_info["user_id"], request.match_info["provider"])
        if key in self.revoked:
            return web.json_response(
                {"type": "reconsent-required", "detail": "link again"},
                status=409,
                content_type="application/problem+json",
            )
        account = self.accounts.get(key)
        if account is None:
            return web.json_response({"type": "link-not-found"}, status=404)
        body = await request.json() if request.body_exists else None
        if body and body.get("rejected_token_sha256"):
            account.token = await self.emulator.new_token(account)
        return web.json_response(
            {
                "access_token": account.token,
                "token_type": "Bearer",
                "expires_at": None,
                "account_id": account.id,
                "provider": account.provider,
            }
        )


@pytest.fixture(scope="module")
async def auth(stack, emulator: Emulator) -> AsyncIterator[AuthStandIn]:
    stand_in = AuthStandIn(emulator, stack.service_env("provider-sync")["SERVICE_TOKEN"])
    async with stand_in_server(
        stand_in.handle, "/internal/provider-tokens/{user_id}/{provider}", "POST"
    ) as url:
        stand_in.url = url
        yield stand_in


@dataclass
class ProviderSync:
    client: TestClient[web.Request, web.Application]
    rt: Runtime
    env: dict[str, str]
    gateway_key: GatewayIdentityKey
    auth: AuthStandIn
    emulator: Emulator

    def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        return self.gateway_key.headers(Identity(user_id, uuid.uuid4()))

    async def link(self, user_id: uuid.UUID, account: Account) -> None:
        """As auth's provider.linked would: the account's tokens at the stand-in, the link here."""
        self.auth.accounts[(str(user_id), account.provider)] = account
        self.auth.revoked.discard((str(user_id), account.provider))
        event = ProviderLinked(
            user_id=user_id,
            provider=account.provider,
            provider_account_id=account.id,
            scopes=[],
            linked_at=datetime.now(UTC),
        )
        async with self.rt.transaction() as conn:
            await links.record_linked(conn, self.rt.jobs, event)

    async def request_import(
        self, user_id: uuid.UUID, body: Any = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
        response = await self.client.post(
            "/api/v1/library/imports", json=body, headers=self.headers(user_id), **kwargs
        )
        return response.status, await response.json(), response

    async def start(self, user_id: uuid.UUID, providers: list[str] | None = None) -> uuid.UUID:
        status, job, _ = await self.request_import(user_id, {"providers": providers} if providers else None)
        assert status == 202, job
        return uuid.UUID(job["job_id"])

    async def job(self, job_id: uuid.UUID) -> Job:
        async with self.rt.pool.acquire() as conn:
            return await self.rt.jobs.get(conn, job_id)

    async def wait(self, job_id: uuid.UUID, *states: str, timeout_s: float = 120.0) -> Job:
        """The job once it is in one of ``states`` (default: ended)."""
        wanted = states or ("succeeded", "failed", "cancelled")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            job = await self.job(job_id)
            if job.state in wanted:
                return job
            if loop.time() > deadline:
                raise AssertionError(f"job {job_id} is {job.state}, not {wanted}, after {timeout_s} s")
            await asyncio.sleep(0.05)

    async def events(self, user_id: uuid.UUID, job_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
        """The library events published for the user (of one job), oldest first: their data."""
        envelopes = await published_events(self.rt, str(user_id))
        return [
            e["data"]
            for e in envelopes
            if e["type"].startswith("library.") and (job_id is None or e["data"]["job_id"] == str(job_id))
        ]

    def adapter(self, account: Account) -> ProviderAdapter:
        """The account's adapter on the service's own providers (to change its library as the user)."""
        return self.rt[PROVIDERS].adapter(
            account.provider, StaticTokenSource(account.token), user_key="tests"
        )


ServiceFactory = Callable[..., Awaitable[ProviderSync]]


@pytest.fixture(scope="module")
async def start_provider_sync(
    service_env_factory: Any, emulator: Emulator, auth: AuthStandIn
) -> AsyncIterator[ServiceFactory]:
    """``await start_provider_sync(**env)``: provider-sync pointed at the emulator and the stand-in auth,
    with rate limits and YouTube's quota of its own (and ``env`` on top); stopped with the module."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: str) -> ProviderSync:
            env = await service_env_factory("provider-sync")
            gateway_key = GatewayIdentityKey.generate()
            run = uuid.uuid4().hex[:12]
            env |= {variable: f"{emulator.base}/{host}" for variable, host in PROVIDER_HOSTS.items()}
            env |= {
                "AUTH_URL": auth.url,
                "IDENTITY_PUBLIC_KEYS": gateway_key.public_keys,
                "PROVIDER_REDIS_PREFIX": f"pm:test-providers:{run}",
                "YOUTUBE_QUOTA": f'{{"project": "test-{run}"}}',
                # A 429 reaches the job at once (the job's own waits are under test), 5xx retries fast.
                "PROVIDER_RETRY": '{"backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_rate_limit_waits": 0}',
            }
            env |= overrides
            client, rt = await stack.enter_async_context(running_service(definition(), env))
            return ProviderSync(client, rt, env, gateway_key, auth, emulator)

        yield start


@pytest.fixture(scope="module")
async def provider_sync(start_provider_sync: ServiceFactory) -> ProviderSync:
    return await start_provider_sync()
