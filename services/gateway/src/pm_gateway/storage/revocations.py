"""Revoked sessions (docs/security.md): ``pm:gateway:revoked:<sid>`` until the session's last access
token expires. Written by the session.revoked handler, read on every authenticated request (inside the
rate-limit script's round trip, see storage/ratelimit.py)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

import redis.asyncio as aioredis


class RevokedSessions:
    def __init__(self, redis: aioredis.Redis, prefix: str, leeway_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._leeway_s = leeway_s

    def key(self, session_id: uuid.UUID | str) -> str:
        return f"{self._prefix}:revoked:{session_id}"

    async def revoke(self, session_id: uuid.UUID, access_expires_at: datetime, now: datetime) -> bool:
        """Refuse the session's tokens until they expire (plus the verification leeway). Idempotent;
        False when every token of the session has already expired."""
        ttl = math.ceil((access_expires_at - now).total_seconds()) + self._leeway_s
        if ttl <= 0:
            return False
        key = self.key(session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, "1", ex=ttl, nx=True)
            pipe.expire(key, ttl, gt=True)  # a later event never shortens the refusal
            await pipe.execute()
        return True

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return bool(await self._redis.exists(self.key(session_id)))
