"""The upstream services' readiness as the gateway sees it: each service's own ``/health/ready``.

Asked whenever the gateway's ``/health`` or ``/health/ready`` runs (reported there, informational: a
service down is that service's problem, and the gateway still serves every other route), and every
``PROBE_INTERVAL_S`` by a background probe, so ``pm_gateway_upstream_up`` stays current for Prometheus
without anyone calling ``/health``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
from prometheus_client import Gauge

PROBE_INTERVAL_S = 15.0
CHECK_TIMEOUT_S = 3.0


class UpstreamReadiness:
    def __init__(self, session: aiohttp.ClientSession, upstreams: Mapping[str, str], up: Gauge) -> None:
        self._session = session
        self._urls = {name: f"{base_url}/health/ready" for name, base_url in upstreams.items()}
        self._up = up  # pm_gateway_upstream_up{upstream}: 1 ready, 0 not, as last asked

    async def check(self, name: str) -> dict[str, Any]:
        """Ask ``name`` whether it is ready: its version when it is, ConnectionError (or the failure)
        when not. Either way the answer is recorded in the gauge."""
        ready = False
        try:
            timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
            async with self._session.get(self._urls[name], timeout=timeout) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    failed = ", ".join(body.get("failed", [])) if isinstance(body, dict) else ""
                    raise ConnectionError(
                        f"answered {response.status}" + (f" ({failed} down)" if failed else "")
                    )
            ready = True
            return {"version": body.get("version")} if isinstance(body, dict) else {}
        finally:  # cancelled (no answer in time) counts as not ready too
            self._up.labels(upstream=name).set(1 if ready else 0)

    async def probe(self) -> None:
        """Ask every upstream at once; the answers only go to the gauge."""
        await asyncio.gather(*(self.check(name) for name in self._urls), return_exceptions=True)

    async def run(self, interval_s: float = PROBE_INTERVAL_S) -> None:
        """Probe now and then every ``interval_s``, until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(interval_s)
