"""Provider limits respected up front, shared by every replica through Redis.

- :class:`RateLimiter`: token buckets per provider and per (provider, user). One Lua script checks
  all buckets of a call and takes a token from each only when every one has it, so concurrent
  replicas never overdraw; time comes from Redis (``TIME``), so replicas need no synchronised clocks.
- :class:`DailyQuota`: counters per project and Pacific day (YouTube's quota), charged atomically
  before a call; a call that would exceed the quota is refused without being sent. The day is the
  provider's: its midnight by its clock (our clock + the offset its answers showed, ``clock.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from pm_providers.domain.calendar import next_pacific_midnight, pacific_day
from pm_providers.errors import QuotaExceeded
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import ProviderName
from pm_providers.settings import ProviderSettings

Sleep = Callable[[float], Awaitable[None]]

# KEYS: one hash per bucket. ARGV[1]: cost; then per bucket: capacity, tokens per second.
# Returns 0 when a token was taken from every bucket, else the milliseconds until all have one.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local wait = 0
local levels = {}
for i = 1, #KEYS do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1]) / 1000.0
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(v[1])
  local ts = tonumber(v[2])
  if tokens == nil or ts == nil then
    tokens = cap
    ts = now
  end
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(cap, tokens + elapsed * rate)
  levels[i] = tokens
  if tokens < cost then
    local w = math.ceil((cost - tokens) / rate)
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1]) / 1000.0
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - cost), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate) + 1000)
end
return 0
"""

# KEYS[1]: the day's counter. ARGV: units, limit, ttl seconds. Returns {charged 0|1, remaining}.
_QUOTA_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local units = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if used + units > limit then
  return {0, limit - used}
end
used = redis.call('INCRBY', KEYS[1], units)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, limit - used}
"""


def _short(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class RateLimiter:
    """Waits until every bucket of a call has a token. Buckets from ``ProviderSettings.limits_for``."""

    def __init__(
        self,
        redis: Redis,
        settings: ProviderSettings,
        *,
        metrics: ProviderMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._prefix = settings.rate_limit_key_prefix
        self._script = redis.register_script(_BUCKET_LUA)
        self._metrics = metrics
        self._sleep = sleep

    def bucket_keys(self, provider: ProviderName, user_key: str | None) -> tuple[list[str], list[Any]]:
        spec = self._settings.limits_for(provider)
        keys = [f"{self._prefix}:rl:{provider.value}"]
        args: list[Any] = [1, spec.provider.capacity, spec.provider.per_second]
        if spec.user is not None and user_key:
            keys.append(f"{self._prefix}:rl:{provider.value}:user:{_short(user_key)}")
            args += [spec.user.capacity, spec.user.per_second]
        return keys, args

    async def acquire(self, provider: ProviderName, user_key: str | None = None) -> float:
        """Take one token from the provider's bucket and the user's; returns the seconds waited.

        May block (sleeps while a bucket is empty); cancellation leaves no token taken.
        """
        keys, args = self.bucket_keys(provider, user_key)
        waited = 0.0
        while True:
            wait_ms = int(await self._script(keys=keys, args=args))
            if wait_ms <= 0:
                if waited and self._metrics is not None:
                    self._metrics.wait_seconds.labels(provider.value, "throttle").inc(waited)
                return waited
            # Jitter spreads replicas that wake for the same token.
            delay = wait_ms / 1000.0 * (1.0 + random.random() * 0.25)
            await self._sleep(delay)
            waited += delay


class DailyQuota:
    """Units per Pacific day per project and bucket (YouTube: ``units`` and ``search``).

    The day is YouTube's: midnight Pacific by the provider's clock, which is ``now()`` (this
    machine's clock) + ``offset()`` (``ProviderClocks.offset``, learned from its answers). Every
    time this class hands out (``resets_at``, ``QuotaExceeded.resets_at``) is on this machine's
    clock, so a caller waits ``resets_at - datetime.now(UTC)``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        provider: ProviderName,
        project: str,
        limits: dict[str, int],
        metrics: ProviderMetrics | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        offset: Callable[[], timedelta] = lambda: timedelta(0),
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(_QUOTA_LUA)
        self._prefix = f"{prefix}:quota:{provider.value}:{project}"
        self._provider = provider
        self.limits = dict(limits)
        self._metrics = metrics
        self._now = now
        self._offset = offset

    def _key(self, bucket: str, day: str | None = None) -> str:
        return f"{self._prefix}:{day or pacific_day(self._now() + self._offset())}:{bucket}"

    def resets_at(self) -> datetime:
        """When today's quota resets: the provider's next midnight Pacific, on this machine's clock."""
        offset = self._offset()
        return next_pacific_midnight(self._now() + offset) - offset

    def _ttl(self, until: datetime) -> int:
        """Seconds a day's counter is kept: until its reset, plus an hour of slack."""
        return max(int((until - self._now()).total_seconds()) + 3600, 60)

    async def used(self, bucket: str) -> int:
        raw = await self._redis.get(self._key(bucket))
        return int(raw or 0)

    async def remaining(self, bucket: str) -> int:
        left = max(0, self.limits[bucket] - await self.used(bucket))
        self._gauge(bucket, left)
        return left

    async def charge(self, bucket: str, units: int) -> int:
        """Count ``units`` against today's quota or raise :class:`QuotaExceeded` (nothing charged)."""
        resets = self.resets_at()
        charged, left = await self._script(
            keys=[self._key(bucket)], args=[units, self.limits[bucket], self._ttl(resets)]
        )
        self._gauge(bucket, max(0, int(left)))
        if not int(charged):
            raise QuotaExceeded(
                f"daily {bucket} quota exhausted ({self.limits[bucket]} per day)",
                resets_at=resets,
                provider=self._provider,
                code="quota_exceeded",
            )
        return int(left)

    async def exhaust(self, bucket: str, *, until: datetime | None = None) -> None:
        """The provider says the quota is gone (shared with other clients): count it as used up.

        ``until``: the reset its answer named (our clock). The day that ends then is the one marked,
        even when our estimate of the provider's time has already passed that midnight (the offset is
        known to a few seconds): marking the new day instead would refuse a whole day's calls.
        """
        key = self._key(bucket)
        if until is None:
            until = self.resets_at()
        else:
            key = self._key(bucket, pacific_day(until + self._offset() - timedelta(minutes=1)))
        await self._redis.set(key, self.limits[bucket], ex=self._ttl(until))
        if key == self._key(bucket):
            self._gauge(bucket, 0)

    def _gauge(self, bucket: str, left: int) -> None:
        if self._metrics is not None:
            self._metrics.quota_remaining.labels(self._provider.value, bucket).set(left)
