"""The auth service's live state beside the chassis runtime: keys, password hasher, provider clients.

Built once per process by the :func:`auth_resources` resource and kept in the runtime as ``rt[AUTH]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

from pm_auth.domain.oauth_clients import OAuthClient, ProviderName
from pm_auth.domain.passwords import PasswordHasher
from pm_auth.keys import MasterKeys, SigningKeys, ring_checker, ring_from, watch_master_keys
from pm_auth.settings import AuthSettings
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime


@dataclass
class AuthContext:
    settings: AuthSettings
    master: MasterKeys
    hasher: PasswordHasher
    clients: dict[ProviderName, OAuthClient]
    signing: SigningKeys | None = None
    http: aiohttp.ClientSession | None = None
    # One provider-token refresh per (user, provider) in this process; concurrent callers share it.
    inflight: dict[tuple[str, str], asyncio.Task[Any]] = field(default_factory=dict)

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.access_token_ttl_s)

    def session_cache_prefix(self, rt: Runtime) -> str:
        return rt.redis_key("session")


AUTH = ResourceKey("auth", AuthContext)


def auth_context(rt: Runtime) -> AuthContext:
    return rt[AUTH]


def build_context(settings: AuthSettings) -> AuthContext:
    return AuthContext(
        settings=settings,
        master=MasterKeys(ring_from(settings)),
        hasher=PasswordHasher(),
        clients=settings.oauth_clients(),
    )


async def auth_resources(rt: Runtime) -> AsyncIterator[None]:
    """Keys, the hasher and one HTTP client for the providers; reloads master keys on SIGHUP."""
    settings = rt.settings
    assert isinstance(settings, AuthSettings)
    ctx = await asyncio.to_thread(build_context, settings)  # the dummy password hash costs a moment
    ctx.master.check = ring_checker(rt.pool, eddsa=settings.jws_alg == "EdDSA")
    ctx.signing = SigningKeys(rt.pool, ctx.master, ctx.access_ttl)
    if settings.jws_alg == "EdDSA":
        await ctx.signing.ensure_one()
    timeout = aiohttp.ClientTimeout(total=settings.provider_timeout_s, connect=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        ctx.http = http
        rt[AUTH] = ctx
        async for _ in watch_master_keys(
            ctx.master, settings.master_key_watch_interval_s, settings.master_key_files
        ):
            yield
