"""Whether a request may go on: counted against its rate limits (per client IP, and per user when it
carries a token), with its session's revocation asked in the same Redis round trip
(storage/ratelimit.py). On every request's path: built once (resources.py), one call per request."""

from __future__ import annotations

from collections.abc import Mapping

import redis.exceptions
from loguru import logger

from pm_gateway.domain.clients import rate_limit_subject
from pm_gateway.domain.ratelimit import Decision, RateLimit
from pm_gateway.domain.tokens import AccessClaims
from pm_gateway.storage.ratelimit import Bucket, RateLimiter
from pm_gateway.storage.revocations import RevokedSessions
from pm_platform.errors import ServiceUnavailable


class Admission:
    def __init__(
        self,
        limiter: RateLimiter,
        limits: Mapping[str, RateLimit],
        revoked: RevokedSessions,
        key_prefix: str,
    ) -> None:
        self._limiter = limiter
        self._limits = limits  # rate class → its limit
        self._revoked = revoked
        self._prefix = f"{key_prefix}:rl"

    async def admit(
        self, rate_class: str, client_address: str, claims: AccessClaims | None
    ) -> tuple[Decision, bool]:
        """Count the request against its buckets (all or none): the decision of the most constrained
        one, and whether the session of ``claims`` is revoked. ServiceUnavailable when Redis cannot be
        asked: without it neither limits nor revocations can be enforced, so refuse rather than guess."""
        limit = self._limits[rate_class]
        buckets = [Bucket(f"{self._prefix}:{rate_class}:ip:{rate_limit_subject(client_address)}", limit)]
        revoked_key = None
        if claims is not None:
            buckets.append(Bucket(f"{self._prefix}:{rate_class}:user:{claims.user_id}", limit))
            revoked_key = self._revoked.key(claims.session_id)
        try:
            return await self._limiter.hit(buckets, revoked_key)
        except (redis.exceptions.RedisError, OSError) as exc:
            logger.warning("rate limiter unavailable: {}", exc)
            raise ServiceUnavailable(
                "the gateway cannot serve requests right now", headers={"Retry-After": "5"}
            ) from None
