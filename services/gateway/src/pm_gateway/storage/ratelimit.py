"""Rate-limit state in Redis: one atomic Lua script per request, for every bucket it counts against.

The script is domain/ratelimit.py's GCRA with Redis's clock (TIME), so every gateway instance shares one
clock and one state per bucket. All buckets are checked first and updated only if every one allows the
request, so a refused request costs nothing. The same round trip also tells whether the request's
session is revoked (see storage/revocations.py), which keeps the hot path at one Redis call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import redis.asyncio as aioredis

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


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, buckets: list[Bucket], revoked_key: str | None = None) -> tuple[Decision, bool]:
        """Count one request against every bucket (atomically, all or none); returns the decision of
        the most constrained bucket and whether ``revoked_key`` exists. Needs at least one bucket."""
        args: list[str] = [str(len(buckets))]
        for bucket in buckets:
            args += _script_args(bucket.limit)
        keys = [b.key for b in buckets] + ([revoked_key] if revoked_key else [])
        allowed, limit, remaining, reset_ms, retry_ms, revoked = await self._script(keys=keys, args=args)
        decision = Decision(
            allowed=bool(allowed),
            limit=int(limit),
            remaining=int(remaining),
            reset_s=float(reset_ms) / 1000,
            retry_after_s=float(retry_ms) / 1000,
        )
        return decision, bool(revoked)
