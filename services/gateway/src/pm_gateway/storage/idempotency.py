"""Idempotency records in Redis: claimed atomically when a keyed POST arrives, completed with the
response, or released when the request failed so the client can retry."""

from __future__ import annotations

import redis.asyncio as aioredis

from pm_gateway.domain.idempotency import Record


class IdempotencyStore:
    def __init__(self, redis: aioredis.Redis, prefix: str, ttl_s: int, in_flight_ttl_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s
        # A claim outlives the longest request it could stand for, and no more: a gateway that died
        # mid-request does not block the key for a day.
        self._in_flight_ttl_s = in_flight_ttl_s

    def _key(self, storage_id: str) -> str:
        return f"{self._prefix}:idem:{storage_id}"

    async def claim(self, storage_id: str, fingerprint: str) -> Record | None:
        """Claim the key for this request: None when claimed, else the existing record."""
        key = self._key(storage_id)
        if await self._redis.set(key, Record(fingerprint).dumps(), nx=True, ex=self._in_flight_ttl_s):
            return None
        raw = await self._redis.get(key)
        if raw is None:  # expired between the two calls: try once more
            if await self._redis.set(key, Record(fingerprint).dumps(), nx=True, ex=self._in_flight_ttl_s):
                return None
            raw = await self._redis.get(key)
            if raw is None:
                return Record(fingerprint)  # treat as in flight; the client retries
        return Record.loads(raw)

    async def complete(self, storage_id: str, record: Record) -> None:
        await self._redis.set(self._key(storage_id), record.dumps(), ex=self._ttl_s)

    async def release(self, storage_id: str) -> None:
        await self._redis.delete(self._key(storage_id))
