"""The auth service's live resources beside the chassis runtime (app.py starts them, in this order).

- :func:`auth_resources` keeps :class:`AuthContext` in the runtime as ``rt[AUTH]``: the master keys
  (re-read on SIGHUP and when their files change), the signing keys, the password hasher, the
  configured OAuth clients and one HTTP client for the providers.
- :func:`session_purge` runs the purge of ended sessions (usecases/sessions.py) in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from pm_auth.domain.oauth_clients import OAuthClient
from pm_auth.domain.passwords import PasswordHasher
from pm_auth.settings import AuthSettings, auth_settings
from pm_auth.usecases.keys import MasterKeys, SigningKeys, ring_checker, ring_from
from pm_auth.usecases.sessions import purge_forever
from pm_contracts.providers import ProviderName
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait


@dataclass
class AuthContext:
    """What auth's use cases work with beside the chassis runtime (``rt[AUTH]``)."""

    settings: AuthSettings
    master: MasterKeys
    # None under the HS256 fallback: no signing key is used, none is published.
    signing: SigningKeys | None
    hasher: PasswordHasher
    clients: dict[ProviderName, OAuthClient]
    http: aiohttp.ClientSession
    # One provider-token refresh per (user, provider) in this process; concurrent callers share it.
    inflight: dict[tuple[str, str], asyncio.Task[Any]] = field(default_factory=dict)


AUTH = ResourceKey("auth", AuthContext)


async def auth_resources(rt: Runtime) -> AsyncIterator[None]:
    """Keys, the hasher and one HTTP client for the providers; the master keys are reloaded on SIGHUP and
    when their files change."""
    settings = auth_settings(rt.settings)
    eddsa = settings.jws_alg == "EdDSA"
    master = MasterKeys(ring_from(settings), check=ring_checker(rt.pool, eddsa=eddsa))
    signing = SigningKeys(rt.pool, master, settings.access_ttl) if eddsa else None
    if signing is not None:
        await signing.ensure_one()
    hasher = await asyncio.to_thread(PasswordHasher)  # its dummy password hash costs a moment
    async with aiohttp.ClientSession(timeout=settings.client_timeout()) as http:
        rt[AUTH] = AuthContext(settings, master, signing, hasher, settings.oauth_clients(), http)
        # The chassis's SIGHUP handler and file watcher (pm_platform.reloading) re-read the master keys.
        with rt.reloads.registered("master keys", settings.master_key_files, master.reload):
            yield


async def session_purge(rt: Runtime) -> AsyncIterator[None]:
    """The purge loop in the background (off with SESSION_PURGE_INTERVAL_S=0)."""
    settings = auth_settings(rt.settings)
    interval = settings.session_purge_interval_s
    task = (
        asyncio.create_task(
            purge_forever(rt.pool, settings.session_retention, interval), name="session-purge"
        )
        if interval > 0
        else None
    )
    try:
        yield
    finally:
        await cancel_and_wait(task)
