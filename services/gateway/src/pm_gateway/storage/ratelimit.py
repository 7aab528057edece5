"""Rate-limit state in Redis: one atomic Lua script per request, for every bucket it counts against.

The script is domain/ratelimit.py's GCRA with Redis's clock (TIME), so every gateway instance shares one
clock and one state per bucket. All buckets are checked first and updated only if every one allows the
request, so a refused request costs nothing. The same round trip also tells whether the request's
session is revoked (see storage/revocations.py), which keeps the hot path at one Redis call.

Calls are coalesced: the scripts of the requests that arrive within one event-loop tick go out as one
pipeline (EVALSHA each, no MULTI: every script is atomic on its own), so concurrent requests share one
round trip, one pooled connection and one socket write. Each request still gets its own decision from
Redis; nothing is decided in process.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from pm_gateway.domain.ratelimit import Decision, RateLimit

# KEYS: the bucket keys, then (optionally) the revocation key to test.
# ARGV: the number of buckets, then per bucket: interval in ms, tolerance in ms, burst.
_SCRIPT = """
local n = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local new_tats = {}
local best_allowed = nil
local worst_refused = nil
for i = 1, n do
  local interval = tonumber(ARGV[2 + (i - 1) * 3])
  local tolerance = tonumber(ARGV[3 + (i - 1) * 3])
  local burst = tonumber(ARGV[4 + (i - 1) * 3])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  local cur = math.max(tat, now)
  local new_tat = cur + interval
  if new_tat - now > tolerance + 0.000001 then
    local retry = new_tat - tolerance - now
    if worst_refused == nil or retry > worst_refused[5] then
      worst_refused = {0, burst, 0, cur - now, retry}
    end
  else
    local remaining = math.floor((tolerance - (new_tat - now)) / interval + 0.000001)
    new_tats[i] = new_tat
    if best_allowed == nil or remaining < best_allowed[3]
       or (remaining == best_allowed[3] and new_tat - now > best_allowed[4]) then
      best_allowed = {1, burst, remaining, new_tat - now, 0}
    end
  end
end
local result = worst_refused
if result == nil then
  for i = 1, n do
    redis.call('SET', KEYS[i], tostring(new_tats[i]), 'PX', math.ceil(new_tats[i] - now) + 1)
  end
  result = best_allowed
end
local revoked = 0
if #KEYS > n and redis.call('EXISTS', KEYS[n + 1]) == 1 then
  revoked = 1
end
return {result[1], result[2], result[3], tostring(result[4]), tostring(result[5]), revoked}
"""


@dataclass(frozen=True)
class Bucket:
    key: str
    limit: RateLimit


@functools.lru_cache(maxsize=64)
def _script_args(limit: RateLimit) -> tuple[str, str, str]:
    # Formatted once per limit: the script's arguments are strings on the wire anyway.
    return (repr(limit.interval_s * 1000), repr(limit.tolerance_s * 1000), str(limit.burst))


_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
# At most this many scripts per pipeline; more queued in one tick go out as further pipelines.
_MAX_BATCH = 256

_Call = tuple[tuple[str, ...], "asyncio.Future[Any]"]


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._queue: list[_Call] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def hit(self, buckets: list[Bucket], revoked_key: str | None = None) -> tuple[Decision, bool]:
        """Count one request against every bucket (atomically, all or none); returns the decision of
        the most constrained bucket and whether ``revoked_key`` exists. Needs at least one bucket."""
        keys = [b.key for b in buckets] + ([revoked_key] if revoked_key else [])
        args: list[str] = [str(len(buckets))]
        for bucket in buckets:
            args += _script_args(bucket.limit)
        allowed, limit, remaining, reset_ms, retry_ms, revoked = await self._call(
            (_SHA, str(len(keys)), *keys, *args)
        )
        decision = Decision(
            allowed=bool(allowed),
            limit=int(limit),
            remaining=int(remaining),
            reset_s=float(reset_ms) / 1000,
            retry_after_s=float(retry_ms) / 1000,
        )
        return decision, bool(revoked)

    def _call(self, evalsha_args: tuple[str, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)  # after every request that is ready in this tick has queued
        self._queue.append((evalsha_args, future))
        return future

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), _MAX_BATCH):
            task = asyncio.ensure_future(self._send(queue[start : start + _MAX_BATCH]))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            results = await self._pipeline(calls)
            if any(isinstance(r, redis.exceptions.NoScriptError) for r in results):
                await self._redis.script_load(_SCRIPT)  # Redis restarted or flushed its scripts
                results = await self._pipeline(calls)
        except BaseException as exc:  # every waiting request gets the failure (or cancellation)
            for _, future in calls:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else redis.exceptions.RedisError())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(calls, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for evalsha_args, _ in calls:
                pipe.execute_command("EVALSHA", *evalsha_args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        return results
