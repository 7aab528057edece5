"""The upstream services' readiness as the gateway sees it: each service's own ``/health/ready``.

A background probe asks every upstream every ``UPSTREAM_PROBE_INTERVAL_S`` (and once at start) and
keeps the answers: in ``pm_gateway_upstream_up`` for Prometheus, and as the last answer of each, which
the gateway's ``/health`` and ``/health/ready`` report (informational: a service down is that service's
problem, and the gateway still serves every other route). A health call never asks the upstreams
itself, so a service that accepts connections and never answers cannot slow the gateway's readiness
down (a load balancer's probe gives up after about a second), and an anonymous caller of the public
health endpoints cannot make the gateway call five services.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import Gauge

CHECK_TIMEOUT_S = 3.0


class UpstreamNotReady(ConnectionError):
    """The last probe found the upstream not ready (or it was not probed yet)."""


@dataclass(frozen=True)
class UpstreamAnswer:
    """What one probe of one upstream found."""

    ready: bool
    version: str | None
    error: str | None
    at: float  # time.monotonic() of the answer


class UpstreamReadiness:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        upstreams: Mapping[str, str],
        up: Gauge,
        timeout_s: float = CHECK_TIMEOUT_S,
    ) -> None:
        self._session = session
        self._urls = {name: f"{base_url}/health/ready" for name, base_url in upstreams.items()}
        self._up = up  # pm_gateway_upstream_up{upstream}: 1 ready, 0 not, as last probed
        self._timeout_s = timeout_s
        self._last: dict[str, UpstreamAnswer] = {}

    async def ask(self, name: str) -> UpstreamAnswer:
        """Ask ``name`` whether it is ready now; the answer is kept and goes to the gauge."""
        try:
            async with self._session.get(
                self._urls[name], timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            ) as response:
                body = await response.json(content_type=None)
            document = body if isinstance(body, dict) else {}
            if response.status == 200:
                answer = UpstreamAnswer(True, document.get("version"), None, time.monotonic())
            else:
                failed = ", ".join(document.get("failed", []))
                error = f"answered {response.status}" + (f" ({failed} down)" if failed else "")
                answer = UpstreamAnswer(False, None, error, time.monotonic())
        except TimeoutError:
            answer = UpstreamAnswer(
                False, None, f"no answer within {self._timeout_s:.0f} s", time.monotonic()
            )
        except (aiohttp.ClientError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200] if str(exc) else ""
            answer = UpstreamAnswer(
                False, None, f"{type(exc).__name__}: {message}".rstrip(": "), time.monotonic()
            )
        self._last[name] = answer
        self._up.labels(upstream=name).set(1 if answer.ready else 0)
        return answer

    def report(self, name: str) -> dict[str, Any]:
        """The last probe's answer for ``name``, without asking it: its version and the answer's age when
        ready; UpstreamNotReady naming what the probe found when not (or not probed yet)."""
        answer = self._last.get(name)
        if answer is None:
            raise UpstreamNotReady("not probed yet")
        age_s = round(time.monotonic() - answer.at, 1)
        if not answer.ready:
            raise UpstreamNotReady(f"{answer.error} ({age_s} s ago)")
        return {"version": answer.version, "checked_s_ago": age_s}

    async def probe(self) -> None:
        """Ask every upstream at once."""
        await asyncio.gather(*(self.ask(name) for name in self._urls))

    async def run(self, interval_s: float) -> None:
        """Probe now and then every ``interval_s``, until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(interval_s)
