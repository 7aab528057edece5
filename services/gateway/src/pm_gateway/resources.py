"""The gateway's live resources, each in a typed slot of the runtime (``rt[EDGE]``), and the
request-scoped keys through which the edge middleware hands what it learned to the handlers.

Started in the order app.py lists them: the upstream client (the edge fetches the JWKS through it), the
upstreams' readiness probe, the edge, the job event hub.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from loguru import logger
from prometheus_client import CollectorRegistry, Gauge

from pm_gateway.clients.jwks import JwksCache
from pm_gateway.clients.readiness import UpstreamReadiness
from pm_gateway.clients.upstream_client import UpstreamPool
from pm_gateway.domain.clients import Client, TrustedProxies
from pm_gateway.domain.cors import CorsPolicy, parse_origins
from pm_gateway.domain.docs import openapi_json
from pm_gateway.domain.origins import Origin
from pm_gateway.domain.ratelimit import Decision
from pm_gateway.domain.routes import Route, longest_upstream_timeout
from pm_gateway.domain.tokens import TokenPolicy, TokenVerifier
from pm_gateway.settings import GatewaySettings, gateway_settings
from pm_gateway.storage.idempotency import IdempotencyStore
from pm_gateway.storage.jobs import JobEventHub
from pm_gateway.storage.ratelimit import RateLimiter
from pm_gateway.usecases.admission import Admission
from pm_gateway.usecases.assertions import IdentityAssertions, reload_signing_key
from pm_gateway.usecases.idempotency import IdempotentRequests
from pm_gateway.usecases.jobs import job_snapshots
from pm_gateway.usecases.sessions import revoked_sessions
from pm_platform.errors import ServiceUnavailable
from pm_platform.http import read_body
from pm_platform.identity import Identity, IdentitySigner
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait

# ---- request-scoped: set by the edge middleware (http/edge.py), read by the handlers --------------------

CLIENT = web.RequestKey("client", Client)
ROUTE = web.RequestKey("route", Route)
IDENTITY = web.RequestKey("identity", Identity)
RATE = web.RequestKey("rate_decision", Decision)
BODY = web.RequestKey("body", bytes)
# The upstream's answer is read whole (an Idempotency-Key request keeps it), never streamed.
BUFFER_RESPONSE = web.RequestKey("buffer_response", bool)


async def request_body(request: web.Request, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes (413 beyond); read once per request, by whichever
    needs it first (the Idempotency-Key check or the proxy)."""
    if BODY not in request:
        request[BODY] = await read_body(request, limit)
    return request[BODY]


# ---- the upstream services ----------------------------------------------------------------------------

# The aiohttp session for the gateway's own calls (JWKS, readiness), and the proxy's connection pool.
UPSTREAM_SESSION = ResourceKey("upstream_session", aiohttp.ClientSession)
UPSTREAM_POOL = ResourceKey("upstream_pool", UpstreamPool)


async def upstream_client(rt: Runtime) -> AsyncIterator[None]:
    """The proxy's pool (clients/upstream_client.py), and one aiohttp session for the gateway's own
    calls to the services (JWKS, readiness)."""
    timeout = aiohttp.ClientTimeout(total=gateway_settings(rt).upstream_timeout_s, connect=3)
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


class GatewayMetrics:
    """The gateway's own metrics, on the runtime's registry beside every service's (pm_platform.metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.upstream_up = Gauge(
            "pm_gateway_upstream_up",
            "Whether an upstream service answered ready (1) or not (0) when last asked",
            ["upstream"],
            registry=registry,
        )


GATEWAY_METRICS = ResourceKey("gateway_metrics", GatewayMetrics)
UPSTREAM_READINESS = ResourceKey("upstream_readiness", UpstreamReadiness)


async def upstream_readiness(rt: Runtime) -> AsyncIterator[None]:
    """The gateway's metrics, and the upstreams' readiness (clients/readiness.py): a background probe
    every UPSTREAM_PROBE_INTERVAL_S into ``pm_gateway_upstream_up`` and the health checks' reports."""
    metrics = rt[GATEWAY_METRICS] = GatewayMetrics(rt.metrics.registry)
    readiness = rt[UPSTREAM_READINESS] = UpstreamReadiness(
        rt[UPSTREAM_SESSION], gateway_settings(rt).upstreams(), metrics.upstream_up
    )
    task = asyncio.create_task(
        readiness.run(gateway_settings(rt).upstream_probe_interval_s), name="upstream-probe"
    )
    try:
        yield
    finally:
        await cancel_and_wait(task)


# ---- the edge: what every request meets ---------------------------------------------------------------

_OPENAPI_RELATIVE = Path("proto") / "openapi.yaml"


def find_openapi_document(configured: Path | None) -> Path | None:
    """OPENAPI_PATH, else proto/openapi.yaml above the working directory or this package."""
    if configured is not None:
        return configured
    for base in [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]:
        candidate = base / _OPENAPI_RELATIVE
        if candidate.is_file():
            return candidate
    return None


@dataclass
class OpenApiDocument:
    """proto/openapi.yaml as the body of /openapi.json: read and converted once at start-up; if it is not
    there yet it is looked for again on request, so a gateway started before it existed serves it as
    soon as it does."""

    configured: Path | None
    body: bytes | None = None

    @classmethod
    def load(cls, configured: Path | None) -> OpenApiDocument:
        document = cls(configured)
        document.reload()
        return document

    def reload(self) -> bool:
        path = find_openapi_document(self.configured)
        if path is None or not path.is_file():
            logger.warning("no OpenAPI document (proto/openapi.yaml; set OPENAPI_PATH); /openapi.json is 503")
            return False
        try:
            self.body = openapi_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.error("cannot read the OpenAPI document {}: {}", path, exc)
            return False
        return True

    def json_body(self) -> bytes:
        if self.body is None and not self.reload():
            raise ServiceUnavailable("the API description is not available")
        assert self.body is not None
        return self.body


@dataclass
class Edge:
    """The gateway's state shared by its middleware and handlers, built once at start-up."""

    settings: GatewaySettings
    verifier: TokenVerifier
    jwks: JwksCache
    admission: Admission
    idempotency: IdempotentRequests
    cors: CorsPolicy
    trusted_proxies: TrustedProxies
    assertions: IdentityAssertions
    openapi: OpenApiDocument
    upstreams: dict[str, Origin]  # service → where the proxy sends its routes


EDGE = ResourceKey("edge", Edge)


async def edge_context(rt: Runtime) -> AsyncIterator[None]:
    """Build the Edge (after Redis and the upstream client exist) and keep the JWKS current."""
    settings = gateway_settings(rt)
    secret = settings.jwt_secret.get_secret_value().encode() if settings.jwt_secret else None
    verifier = TokenVerifier(
        TokenPolicy(settings.auth_token_alg, settings.api_base_url, leeway_s=settings.token_leeway_s),
        hs256_secret=secret if settings.uses_hs256 else None,
    )
    upstreams = settings.upstreams()
    jwks = JwksCache(
        lambda: rt[UPSTREAM_SESSION],
        f"{upstreams['auth']}/.well-known/jwks.json",
        verifier,
        settings.jwks_refetch_interval_s,
    )
    prefix = rt.redis_key()
    trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
    if settings.is_production:
        for concern in trusted_proxies.concerns():
            logger.warning("TRUSTED_PROXIES={} {}", settings.trusted_proxies, concern)
    assertions = IdentityAssertions(IdentitySigner(settings.identity_signing_key_bytes()))
    rt.identity_keys.signing_key_id = assertions.kid
    rt[EDGE] = Edge(
        settings=settings,
        verifier=verifier,
        jwks=jwks,
        admission=Admission(RateLimiter(rt.redis), settings.rate_limits(), revoked_sessions(rt), prefix),
        idempotency=IdempotentRequests(
            IdempotencyStore(
                rt.redis,
                prefix,
                settings.idempotency_ttl_s,
                int(longest_upstream_timeout(settings.upstream_timeout_s)) + 30,
            )
        ),
        cors=CorsPolicy(parse_origins(settings.cors_origins)),
        trusted_proxies=trusted_proxies,
        assertions=assertions,
        openapi=OpenApiDocument.load(settings.openapi_path),
        upstreams={name: Origin.parse(url) for name, url in upstreams.items()},
    )
    task = asyncio.create_task(jwks.run(), name="jwks-refresh") if not settings.uses_hs256 else None
    path = settings.identity_signing_key_file
    try:
        with contextlib.ExitStack() as registrations:
            if path:
                # After the chassis's identity public keys (registered first, so re-read first).
                registrations.enter_context(
                    rt.reloads.registered(
                        "identity signing key",
                        [path],
                        lambda: reload_signing_key(assertions, rt.identity_keys, path),
                    )
                )
            yield
    finally:
        await cancel_and_wait(task)
        await jwks.close()


# ---- jobs ---------------------------------------------------------------------------------------------

JOB_EVENT_HUB = ResourceKey("job_event_hub", JobEventHub)


async def job_event_hub(rt: Runtime) -> AsyncIterator[None]:
    """One subscription to the published job snapshots for every stream this process serves."""
    hub = rt[JOB_EVENT_HUB] = JobEventHub(rt.redis, job_snapshots(rt))
    task = asyncio.create_task(hub.run(), name="job-event-hub")
    try:
        yield
    finally:
        await cancel_and_wait(task)
