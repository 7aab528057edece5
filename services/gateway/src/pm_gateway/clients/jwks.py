"""The auth service's JWKS, fetched through the upstream client and kept in the token verifier.

Fetched at start-up (auth may not be up yet: then on first need), refreshed every ``REFRESH_S`` so
retired keys leave, and refetched when a token names a key id the gateway does not know: a new key auth
has just started signing with must work at once, whenever the last fetch was. So the limits are per key
id and on the pace, not a cooldown after any fetch: a key id still unknown after a fetch is not looked up
again for ``JWKS_REFETCH_INTERVAL_S``, and fetches start at most once per ``MIN_FETCH_GAP_S`` (a request
naming a new id waits for the next slot rather than failing). A burst of forged key ids thus costs auth at
most one JWKS request per second per gateway. Concurrent refetches share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

import aiohttp
from loguru import logger

from pm_gateway.domain.tokens import TokenVerifier, keys_from_jwks
from pm_platform.tasks import cancel_and_wait

REFRESH_S = 600.0
# Fetches start at least this far apart (also after a failure).
MIN_FETCH_GAP_S = 1.0
# Key ids looked up and not found, remembered (the oldest forgotten first).
_TRIED_KIDS = 1024


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
        # Key id → when a fetch was last started for it.
        self._tried: OrderedDict[str, float] = OrderedDict()

    @property
    def loaded(self) -> bool:
        return self._last_ok

    async def fetch(self) -> bool:
        """Fetch now (sharing a fetch already running); True when the keys were updated."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._fetch())
        return await asyncio.shield(self._inflight)

    async def refetch_for_unknown_key(self, kid: str) -> bool:
        """Fetch for ``kid`` unless it was looked up and missing within the refetch interval (after a
        failed fetch, always: the next one is paced); True when the key is known afterwards."""
        if kid in self._verifier.key_ids:
            return True
        now = time.monotonic()
        tried = self._tried.get(kid)
        if self._last_ok and tried is not None and now - tried < self._refetch_interval_s:
            if self._inflight is not None and not self._inflight.done():
                await asyncio.shield(self._inflight)  # the lookup for it is under way: its answer
                return kid in self._verifier.key_ids
            return False
        self._tried[kid] = now
        self._tried.move_to_end(kid)
        while len(self._tried) > _TRIED_KIDS:
            self._tried.popitem(last=False)
        await self.fetch()
        return kid in self._verifier.key_ids

    async def _fetch(self) -> bool:
        # Paced: the request starts MIN_FETCH_GAP_S after the previous one at the earliest.
        await asyncio.sleep(max(0.0, self._last_attempt + MIN_FETCH_GAP_S - time.monotonic()))
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
