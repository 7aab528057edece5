"""The gateway's live state, built once at start-up and shared by its middleware and handlers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pm_gateway.domain.clients import TrustedProxies
from pm_gateway.domain.cors import CorsPolicy, parse_origins
from pm_gateway.domain.origins import Origin
from pm_gateway.domain.ratelimit import RateLimit
from pm_gateway.domain.tokens import TokenPolicy, TokenVerifier
from pm_gateway.http.docs import OpenApiDocument
from pm_gateway.http.jwks import JwksCache
from pm_gateway.http.upstreams import upstream_session
from pm_gateway.settings import GatewaySettings
from pm_gateway.storage.idempotency import IdempotencyStore
from pm_gateway.storage.jobs import JobSnapshots
from pm_gateway.storage.ratelimit import RateLimiter
from pm_gateway.storage.revocations import RevokedSessions
from pm_platform.identity import Identity, IdentitySigner
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait

# An identity assertion lives 60 s; one is reused for half of that, so a busy session signs one
# assertion per 30 s instead of one per request.
_ASSERTION_REUSE_S = 30.0
_ASSERTION_CACHE_SIZE = 10_000


class IdentityAssertions:
    """X-PM-Identity values, signed with IDENTITY_SIGNING_KEY and reused per session for 30 s."""

    def __init__(self, signer: IdentitySigner) -> None:
        self._signer = signer
        self._cache: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[float, str]] = OrderedDict()

    def for_identity(self, identity: Identity) -> str:
        key = (identity.user_id, identity.session_id)
        now = time.time()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < _ASSERTION_REUSE_S:
            return cached[1]
        assertion = self._signer.sign(identity, now)
        self._cache[key] = (now, assertion)
        self._cache.move_to_end(key)
        if len(self._cache) > _ASSERTION_CACHE_SIZE:
            self._cache.popitem(last=False)
        return assertion


@dataclass
class Edge:
    settings: GatewaySettings
    verifier: TokenVerifier
    jwks: JwksCache
    limiter: RateLimiter
    rate_limits: dict[str, RateLimit]
    revoked: RevokedSessions
    idempotency: IdempotencyStore
    snapshots: JobSnapshots
    cors: CorsPolicy
    trusted_proxies: TrustedProxies
    assertions: IdentityAssertions
    openapi: OpenApiDocument
    upstreams: dict[str, Origin]  # service → where the proxy sends its routes
    key_prefix: str

    def bucket_key(self, rate_class: str, kind: str, subject: str) -> str:
        return f"{self.key_prefix}:rl:{rate_class}:{kind}:{subject}"


EDGE = ResourceKey("edge", Edge)


def edge(rt: Runtime) -> Edge:
    return rt[EDGE]


async def edge_context(rt: Runtime) -> AsyncIterator[None]:
    """Build the Edge (after Redis and the upstream client exist) and keep the JWKS current."""
    settings = rt.settings
    assert isinstance(settings, GatewaySettings)
    secret = settings.jwt_secret.get_secret_value().encode() if settings.jwt_secret else None
    verifier = TokenVerifier(
        TokenPolicy(settings.auth_token_alg, settings.api_base_url, leeway_s=settings.token_leeway_s),
        hs256_secret=secret if settings.uses_hs256 else None,
    )
    jwks = JwksCache(
        lambda: upstream_session(rt),
        f"{settings.upstreams()['auth']}/.well-known/jwks.json",
        verifier,
        settings.jwks_refetch_interval_s,
    )
    prefix = rt.redis_key()
    rt[EDGE] = Edge(
        settings=settings,
        verifier=verifier,
        jwks=jwks,
        limiter=RateLimiter(rt.redis),
        rate_limits=settings.rate_limits(),
        revoked=RevokedSessions(rt.redis, prefix, settings.token_leeway_s),
        idempotency=IdempotencyStore(
            rt.redis, prefix, settings.idempotency_ttl_s, int(settings.upstream_timeout_s) + 30
        ),
        snapshots=JobSnapshots(rt.redis, prefix),
        cors=CorsPolicy(parse_origins(settings.cors_origins)),
        trusted_proxies=TrustedProxies.parse(settings.trusted_proxies),
        assertions=IdentityAssertions(IdentitySigner(settings.identity_signing_key_bytes())),
        openapi=OpenApiDocument.load(settings.openapi_path),
        upstreams={name: Origin.parse(url) for name, url in settings.upstreams().items()},
        key_prefix=prefix,
    )
    task = asyncio.create_task(jwks.run(), name="jwks-refresh") if not settings.uses_hs256 else None
    try:
        yield
    finally:
        await cancel_and_wait(task)
        await jwks.close()
