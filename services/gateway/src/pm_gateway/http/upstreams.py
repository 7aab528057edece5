"""The upstream services: the proxy's connection pool, one aiohttp client for the gateway's own calls
(JWKS, readiness), and the upstreams' readiness as part of the gateway's."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from pm_gateway.http.upstream_client import UpstreamPool
from pm_gateway.settings import GatewaySettings
from pm_gateway.storage.instances import latest_instances
from pm_platform.health import HealthCheck
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime

# The aiohttp session for the gateway's own calls, and the proxy's connection pool.
UPSTREAM_SESSION = ResourceKey("upstream_session", aiohttp.ClientSession)
UPSTREAM_POOL = ResourceKey("upstream_pool", UpstreamPool)


def upstream_session(rt: Runtime) -> aiohttp.ClientSession:
    return rt[UPSTREAM_SESSION]


def upstream_pool(rt: Runtime) -> UpstreamPool:
    return rt[UPSTREAM_POOL]


async def upstream_client(rt: Runtime) -> AsyncIterator[None]:
    """The proxy's pool (http/upstream_client.py), and one aiohttp session for the gateway's own calls
    to the services (JWKS, readiness)."""
    assert isinstance(rt.settings, GatewaySettings)
    timeout = aiohttp.ClientTimeout(total=rt.settings.upstream_timeout_s, connect=3)
    connector = aiohttp.TCPConnector(limit=512, limit_per_host=256, keepalive_timeout=30, use_dns_cache=True)
    async with aiohttp.ClientSession(
        timeout=timeout,
        connector=connector,
        raise_for_status=False,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to clients, never to the gateway
    ) as session:
        rt[UPSTREAM_SESSION] = session
        pool = rt[UPSTREAM_POOL] = UpstreamPool()
        try:
            yield
        finally:
            pool.close()


def upstream_checks(rt: Runtime) -> list[HealthCheck]:
    assert isinstance(rt.settings, GatewaySettings)
    checks = []
    for name, base_url in rt.settings.upstreams().items():

        async def check(url: str = f"{base_url}/health/ready") -> dict[str, Any]:
            session = upstream_session(rt)
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    failed = ", ".join(body.get("failed", [])) if isinstance(body, dict) else ""
                    raise ConnectionError(
                        f"answered {response.status}" + (f" ({failed} down)" if failed else "")
                    )
                return {"version": body.get("version")} if isinstance(body, dict) else {}

        checks.append(HealthCheck(f"service:{name}", check, timeout_s=4.0))

    async def announced() -> dict[str, Any]:
        # Informational: which services announced themselves through Kafka (proves the event path).
        async with rt.pool.acquire(timeout=2) as conn:
            return {"services": await latest_instances(conn)}

    checks.append(HealthCheck("events", announced))
    return checks
