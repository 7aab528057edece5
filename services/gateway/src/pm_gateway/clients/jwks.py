"""The auth service's JWKS, fetched through the upstream client and kept in the token verifier.

Fetched at start-up (auth may not be up yet: then on first need), refreshed every ``REFRESH_S`` so
retired keys leave, and refetched when a token names an unknown key id, at most once per
``JWKS_REFETCH_INTERVAL_S`` after a successful fetch (a burst of forged key ids cannot turn the gateway
into a load generator against auth). Concurrent refetches share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from loguru import logger

from pm_gateway.domain.tokens import TokenVerifier, keys_from_jwks
from pm_platform.tasks import cancel_and_wait

REFRESH_S = 600.0
_RETRY_AFTER_FAILURE_S = 1.0


class JwksCache:
    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        verifier: TokenVerifier,
        refetch_interval_s: float,
    ) -> None:
        self._session = session
        self._url = url
        self._verifier = verifier
        self._refetch_interval_s = refetch_interval_s
        self._last_attempt = float("-inf")
        self._last_ok = False
        self._inflight: asyncio.Task[bool] | None = None

    @property
    def loaded(self) -> bool:
        return self._last_ok

    async def fetch(self) -> bool:
        """Fetch now (sharing a fetch already running); True when the keys were updated."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._fetch())
        return await asyncio.shield(self._inflight)

    async def refetch_for_unknown_key(self, kid: str) -> bool:
        """Refetch if allowed now; True when the key is known afterwards."""
        wait = self._refetch_interval_s if self._last_ok else _RETRY_AFTER_FAILURE_S
        if time.monotonic() - self._last_attempt >= wait or (self._inflight and not self._inflight.done()):
            await self.fetch()
        return kid in self._verifier.key_ids

    async def _fetch(self) -> bool:
        self._last_attempt = time.monotonic()
        try:
            async with self._session().get(self._url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                if response.status != 200:
                    raise ValueError(f"answered {response.status}")
                keys = keys_from_jwks(await response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._last_ok = False
            logger.warning("cannot fetch the JWKS from auth: {}", exc)
            return False
        self._verifier.set_keys(keys)
        self._last_ok = True
        return True

    async def run(self) -> None:
        """Keep the keys current until cancelled."""
        while True:
            await self.fetch()
            await asyncio.sleep(REFRESH_S if self._last_ok else 5.0)

    async def close(self) -> None:
        await cancel_and_wait(self._inflight)
