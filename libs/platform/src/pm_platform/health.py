"""Health endpoints, as in the seed: ``/health/live``, ``/health/ready`` and ``/health``.

Liveness says the process serves; readiness runs every dependency check concurrently with a timeout
and answers 503 naming each component that failed. ``/health`` is the readiness report with status
200 either way (the seed's basic check), for humans and dashboards.

Readiness covers only what the service needs to serve. A check marked ``informational`` (another
service, a backlog) is reported, up or down, but never makes the service unready: a load balancer must
not take a replica out of rotation for something that replica cannot fix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Check = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    check: Check
    timeout_s: float = 2.0
    informational: bool = False


async def _run(check: HealthCheck) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check.check(), check.timeout_s)
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {check.timeout_s:.0f}s"}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; its type names it
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        return {"status": "down", "error": f"{type(exc).__name__}: {message}".rstrip(": ")}
    result: dict[str, Any] = {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    return result


async def readiness(service: str, version: str, checks: list[HealthCheck]) -> tuple[bool, dict[str, Any]]:
    results = await asyncio.gather(*(_run(c) for c in checks))
    components = {c.name: r for c, r in zip(checks, results, strict=True)}
    failed = sorted(c.name for c in checks if components[c.name]["status"] != "up" and not c.informational)
    for check in checks:
        if check.informational:
            components[check.name]["informational"] = True
    report: dict[str, Any] = {
        "status": "ready" if not failed else "unready",
        "service": service,
        "version": version,
        "checks": components,
    }
    if failed:
        report["failed"] = failed
    return not failed, report


def add_health_routes(app: web.Application, service: str, version: str, checks: list[HealthCheck]) -> None:
    async def live(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "service": service, "version": version})

    async def ready(_: web.Request) -> web.Response:
        ok, report = await readiness(service, version, checks)
        if ok:
            return web.json_response(report)
        report.update(
            {
                "type": "https://playlist-manager.dev/problems/not-ready",
                "title": "Service not ready",
                "status": 503,
                "detail": "not ready: " + ", ".join(report["failed"]),
            }
        )
        return web.json_response(report, status=503, content_type="application/problem+json")

    async def basic(request: web.Request) -> web.Response:
        _, report = await readiness(service, version, checks)
        return web.json_response(report)

    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
    app.router.add_get("/health", basic)
