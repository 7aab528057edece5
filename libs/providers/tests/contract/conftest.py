"""The contract suite's world: a provider emulator started in this process (its own port and state,
so the shared dev emulator on 3199 is untouched) and the native stack's real Redis for the buckets.

Every test gets a fresh emulator (rate limits off unless it asks), a unique Redis key prefix, and
``Providers`` pointed at the emulator. Call counts come from the emulator's ``/_admin/calls``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from pm_provider_emulator.app import init_app
from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.storage.catalog_files import load_catalogs
from pm_provider_emulator.testing import EmulatorAdmin
from pm_providers import Providers, ProviderSettings
from pm_providers.models import ProviderName
from pm_providers.settings import BucketSpec, ProviderLimitsSpec, RetryPolicy, YoutubeQuota

API_HOSTS = {
    ProviderName.SPOTIFY: "api.spotify.com",
    ProviderName.DEEZER: "api.deezer.com",
    ProviderName.TIDAL: "openapi.tidal.com",
    ProviderName.YOUTUBE: "www.googleapis.com",
}
UNLIMITED = ProviderLimitsSpec(provider=BucketSpec(capacity=1_000_000, per_second=1_000_000), user=None)


@dataclass
class User:
    provider: ProviderName
    id: str
    access_token: str
    playlists: list[dict[str, Any]]


class EmulatorHarness(EmulatorAdmin):
    """The in-process emulator: its base URL, admin calls, and (for checks) its state."""

    async def create_user(
        self, provider: ProviderName, playlists: list[dict[str, Any]] | None = None, **library: Any
    ) -> User:
        body = await self.admin(
            "POST",
            "/users",
            {"provider": provider.value, "library": {"playlists": playlists or [], **library}},
        )
        return User(provider, body["user"]["id"], body["tokens"]["access_token"], body["user"]["playlists"])

    async def user_state(self, user: User) -> dict[str, Any]:
        state: dict[str, Any] = await self.admin("GET", f"/users/{user.provider.value}/{user.id}")
        return state

    async def playlist_track_ids(self, user: User, playlist_id: str) -> list[str]:
        for pl in (await self.user_state(user))["playlists"]:
            if pl["id"] == playlist_id:
                return list(pl["tracks"])
        raise AssertionError(f"playlist {playlist_id} not in the library")

    async def calls(self, provider: ProviderName) -> dict[str, int]:
        body = await self.admin("GET", f"/calls?host={API_HOSTS[provider]}")
        return {
            k.split(" /", 1)[0] + " " + k.split(API_HOSTS[provider], 1)[1]: v
            for k, v in body["calls"].items()
        }

    async def total_calls(self, provider: ProviderName) -> int:
        return sum((await self.calls(provider)).values())

    async def reset_calls(self) -> None:
        await self.admin("DELETE", "/calls")

    async def faults(self, provider: ProviderName, **config: Any) -> None:
        await self.admin("PUT", f"/faults/{provider.value}", config)

    async def rate_limit(self, provider: str, **config: Any) -> None:
        await self.admin("PUT", f"/rate-limits/{provider}", config)

    async def config(self, **switches: Any) -> None:
        await self.admin("PUT", "/config", switches)

    async def expire(self, token: str) -> None:
        await self.admin("POST", f"/tokens/{token}/expire")


class EmulatorTokens:
    """A TokenSource whose refresh mints a new token through the emulator's admin API (the part auth
    plays in production). Counts refreshes."""

    def __init__(self, emulator: EmulatorHarness, user: User) -> None:
        self._emulator = emulator
        self._user = user
        self.token = user.access_token
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.token

    async def refresh(self) -> str:
        self.refreshes += 1
        body = await self._emulator.admin(
            "POST", f"/users/{self._user.provider.value}/{self._user.id}/tokens", {}
        )
        self.token = body["access_token"]
        return self.token


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return load_catalogs()


EmulatorFactory = Callable[..., Awaitable[EmulatorHarness]]


@pytest.fixture
async def make_emulator(catalogs: Catalogs) -> AsyncIterator[EmulatorFactory]:
    """``await make_emulator(rate_limits=True, ...)``: a fresh emulator on a free port."""
    servers: list[TestServer] = []
    session = aiohttp.ClientSession()

    async def factory(**overrides: Any) -> EmulatorHarness:
        settings = EmulatorSettings(**{"rate_limits": False, "demo_users": False, **overrides})
        server = TestServer(init_app(settings, catalogs=catalogs), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return EmulatorHarness(server, session)

    yield factory
    for s in servers:
        await s.close()
    await session.close()


@pytest.fixture
async def emulator(make_emulator: EmulatorFactory) -> EmulatorHarness:
    return await make_emulator()


@pytest.fixture
def key_prefix(redis: aioredis.Redis) -> str:
    return f"pm:test:providers:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def cleanup_keys(redis: aioredis.Redis, key_prefix: str) -> AsyncIterator[None]:
    yield
    async for key in redis.scan_iter(match=f"{key_prefix}:*"):
        await redis.delete(key)


def provider_settings(emulator: EmulatorHarness, key_prefix: str, **overrides: Any) -> ProviderSettings:
    """Settings at the emulator: unlimited buckets (unless given) and short backoff."""
    base = ProviderSettings().for_emulator(emulator.base)
    update: dict[str, Any] = {
        "rate_limit_key_prefix": key_prefix,
        "rate_limits": dict.fromkeys(ProviderName, UNLIMITED),
        "retry": RetryPolicy(backoff_base_s=0.05, backoff_max_s=0.2, deezer_quota_wait_s=1.0),
        # Call-count tests write 5,000 videos: far beyond a real day's 10,000 units (200 inserts).
        "youtube_quota": YoutubeQuota(units_per_day=10_000_000),
    }
    update.update(overrides)
    return base.model_copy(update=update)


ProvidersFactory = Callable[..., Awaitable[Providers]]


@pytest.fixture
async def make_providers(
    redis: aioredis.Redis, key_prefix: str, cleanup_keys: None
) -> AsyncIterator[ProvidersFactory]:
    """``await make_providers(emulator, **settings_overrides)``: started, closed at teardown."""
    made: list[Providers] = []

    async def factory(emulator: EmulatorHarness, **overrides: Any) -> Providers:
        p = await Providers(provider_settings(emulator, key_prefix, **overrides), redis).start()
        made.append(p)
        return p

    yield factory
    for p in made:
        await p.aclose()


@pytest.fixture
async def providers(make_providers: ProvidersFactory, emulator: EmulatorHarness) -> Providers:
    return await make_providers(emulator)


def catalog_ids(catalogs: Catalogs, provider: ProviderName, *, available: bool, n: int) -> list[str]:
    """``n`` catalog track ids that the provider marks (un)available."""
    if provider is ProviderName.SPOTIFY:
        ids = [t.id for t in catalogs.spotify.values() if t.playable is available]
    elif provider is ProviderName.DEEZER:
        ids = [str(t.id) for t in catalogs.deezer.values() if t.readable is available]
    elif provider is ProviderName.TIDAL:
        ids = [t.id for t in catalogs.tidal.values() if t.available is available]
    else:
        ids = [v.id for v in catalogs.youtube.values() if v.available is available]
    assert len(ids) >= n, f"catalog has {len(ids)} such {provider} tracks"
    return sorted(ids)[:n]
