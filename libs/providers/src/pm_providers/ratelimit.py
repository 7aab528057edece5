"""Provider limits respected up front, shared by every replica through Redis.

- :class:`RateLimiter`: token buckets per provider and per (provider, user), or a sliding window per
  provider for one whose limit is a window (Deezer). One Lua script checks
  all buckets of a call and takes a token from each only when every one has it, so concurrent
  replicas never overdraw; time comes from Redis (``TIME``), so replicas need no synchronised clocks.
  A provider that advertises its bucket on its answers (TIDAL's ``x-ratelimit-*``) has it adopted
  (:meth:`RateLimiter.adopt`): stored in Redis for an hour, it replaces the static app-wide bucket
  and the per-user bucket, and the calls the provider says are left cap our bucket's level.
- :meth:`RateLimiter.reserve`: one call per interval and no burst for a lookup service
  (MusicBrainz): each call reserves the next free slot in Redis and sleeps until it, so waiting
  callers on every replica are served in the order they asked, with no polling.
- :class:`DailyQuota`: counters per project and Pacific day (YouTube's quota), charged atomically
  before a call; a call that would exceed the quota is refused without being sent. The day is the
  provider's: its midnight by its clock (our clock + the offset its answers showed, ``clock.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pm_platform.logging import logger
from pm_providers.domain.calendar import next_pacific_midnight, pacific_day
from pm_providers.domain.responses import AdvertisedLimit
from pm_providers.errors import QuotaExceeded
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import LookupService, ProviderName, Upstream
from pm_providers.settings import LOOKUP_INTERVALS_S, ProviderSettings, WindowSpec

Sleep = Callable[[float], Awaitable[None]]

# How long an advertised bucket is kept after it was last stored: a limit the provider changed is
# relearned from its next answer anyway, and one it stopped advertising is forgotten within the hour
# (the static buckets apply again). Stored again when less than half of it is left.
ADVERTISED_TTL_S = 3600

# Shared by both scripts: Redis' clock, and a bucket's level (hash fields ``tokens``, ``ts``) refilled
# up to now; an absent bucket is full. A bucket's hash expires once it would be full again.
_BUCKET_FUNCTIONS_LUA = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function level(key, cap, rate_ms, now)
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(v[1])
  local ts = tonumber(v[2])
  if tokens == nil or ts == nil then return cap end
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  return math.min(cap, tokens + elapsed * rate_ms)
end
local function store(key, tokens, cap, rate_ms, now)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(cap / rate_ms) + 1000)
end
"""

# KEYS[1]: the provider's advertised bucket (hash ``capacity``, ``per_second``; usually absent);
# KEYS[2]: the app-wide bucket; KEYS[3] (optional): the user's bucket. ARGV[1]: cost; then per bucket
# of KEYS[2..]: capacity, tokens per second. An advertised bucket replaces the app bucket's capacity
# and rate, and the user bucket is then neither checked nor charged.
# Returns {0 when a token was taken from every bucket, else the milliseconds until all have one;
# the app bucket's level after; the advertised capacity and rate as stored (nil when none); their
# milliseconds to live}.
_BUCKET_LUA = (
    _BUCKET_FUNCTIONS_LUA
    + """
local now = now_ms()
local cost = tonumber(ARGV[1])
local caps = {}
local rates = {}
for i = 2, #KEYS do
  caps[i] = tonumber(ARGV[2 * i - 2])
  rates[i] = tonumber(ARGV[2 * i - 1]) / 1000.0
end
local last = #KEYS
local adv = redis.call('HMGET', KEYS[1], 'capacity', 'per_second')
local adv_cap = tonumber(adv[1])
local adv_rate = tonumber(adv[2])
local adv_ttl = -2
if adv_cap ~= nil and adv_rate ~= nil and adv_cap > 0 and adv_rate > 0 then
  caps[2] = adv_cap
  rates[2] = adv_rate / 1000.0
  last = 2
  adv_ttl = redis.call('PTTL', KEYS[1])
else
  adv = {false, false}
end
local wait = 0
local levels = {}
for i = 2, last do
  levels[i] = level(KEYS[i], caps[i], rates[i], now)
  if levels[i] < cost then
    local w = math.ceil((cost - levels[i]) / rates[i])
    if w > wait then wait = w end
  end
end
if wait > 0 then return {wait, tostring(levels[2]), adv[1], adv[2], adv_ttl} end
for i = 2, last do
  store(KEYS[i], levels[i] - cost, caps[i], rates[i], now)
end
return {0, tostring(levels[2] - cost), adv[1], adv[2], adv_ttl}
"""
)

# KEYS[1]: the advertised bucket; KEYS[2]: the app-wide bucket. ARGV: capacity, calls per second,
# 1 to store them (else 0), their milliseconds to live, the calls the provider has left (-1: unknown).
# Lowers the app bucket's level to what the provider has left, never raises it. Returns 1 when lowered.
_ADVERTISED_LUA = (
    _BUCKET_FUNCTIONS_LUA
    + """
local now = now_ms()
local cap = tonumber(ARGV[1])
local rate_ms = tonumber(ARGV[2]) / 1000.0
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'per_second', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
end
local left = tonumber(ARGV[5])
if left >= 0 and left < level(KEYS[2], cap, rate_ms, now) then
  store(KEYS[2], left, cap, rate_ms, now)
  return 1
end
return 0
"""
)

# The most a call waiting for a window's slot sleeps beyond the moment it frees (spreads the waiters).
WINDOW_JITTER_S = 0.01

# KEYS[1]: a sorted set of the window's calls (score: Redis' milliseconds). ARGV: calls, window in
# milliseconds, a member unique to this call. Calls at or before now - window have left the window (as
# the provider counts them). Returns 0 when the call was entered, else the milliseconds until one
# leaves.
_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local calls = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= calls then
  local leaving = redis.call('ZRANGE', KEYS[1], n - calls, n - calls, 'WITHSCORES')
  return math.max(1, tonumber(leaving[2]) + window - now + 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + 1000)
return 0
"""

# KEYS[1]: the first free slot (Redis' milliseconds). ARGV[1]: the interval in milliseconds. Reserves
# the first free slot that is not in the past and moves the free slot one interval on. Returns {the
# milliseconds until the reserved slot, the slot}.
_SLOT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', slot + interval - now + 1000)
return {slot - now, slot}
"""


@dataclass(frozen=True, slots=True)
class ReservedSlot:
    """A call's turn: ``at_ms`` on Redis' clock, ``wait_s`` from when it was reserved."""

    at_ms: int
    wait_s: float


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


@dataclass(slots=True)
class _Seen:
    """What this process last saw of one provider's buckets in Redis: a hint that spares writes, while
    Redis stays the truth (every acquire refreshes it)."""

    advertised: tuple[float, float] | None = None  # (capacity, per_second) stored, in calls
    advertised_until: float = 0.0  # when the stored one expires (monotonic clock)
    level: float = math.inf  # calls left in the app bucket after this process's last acquire


class RateLimiter:
    """Waits until every bucket of a call has a token. Buckets from ``ProviderSettings.limits_for``,
    except the app-wide bucket of a provider that advertises its own (:meth:`adopt`)."""

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
        self._advertised_script = redis.register_script(_ADVERTISED_LUA)
        self._window_script = redis.register_script(_WINDOW_LUA)
        self._slot_script = redis.register_script(_SLOT_LUA)
        self._metrics = metrics
        self._sleep = sleep
        self._seen: defaultdict[ProviderName, _Seen] = defaultdict(_Seen)

    def app_key(self, provider: Upstream) -> str:
        """The hash of ``provider``'s app-wide bucket (its level; shared by every replica)."""
        return f"{self._prefix}:rl:{provider.value}"

    def advertised_key(self, provider: ProviderName) -> str:
        """The hash holding the bucket ``provider`` advertised (shared by every replica)."""
        return f"{self.app_key(provider)}:advertised"

    def bucket_keys(self, provider: ProviderName, user_key: str | None) -> tuple[list[str], list[Any]]:
        """The keys and arguments of ``_BUCKET_LUA``: the advertised bucket, the static app bucket, the
        user's bucket (when configured and ``user_key`` is given)."""
        spec = self._settings.limits_for(provider)
        if isinstance(spec.provider, WindowSpec):
            raise ValueError(f"{provider.value} is limited by a sliding window, not by buckets")
        keys = [self.advertised_key(provider), self.app_key(provider)]
        args: list[Any] = [1, spec.provider.capacity, spec.provider.per_second]
        if spec.user is not None and user_key:
            keys.append(f"{self.app_key(provider)}:user:{_short(user_key)}")
            args += [spec.user.capacity, spec.user.per_second]
        return keys, args

    async def acquire(self, provider: ProviderName, user_key: str | None = None) -> float:
        """Take one token from the provider's bucket and the user's; returns the seconds waited.

        While the provider's advertised bucket is stored, it is the provider's bucket and the user's is
        not used. May block (sleeps while a bucket is empty); cancellation leaves no token taken.
        """
        spec = self._settings.limits_for(provider).provider
        if isinstance(spec, WindowSpec):
            return await self._acquire_in_window(provider, spec)
        keys, args = self.bucket_keys(provider, user_key)
        waited = 0.0
        while True:
            wait_ms, level, capacity, per_second, ttl_ms = await self._script(keys=keys, args=args)
            self._note(provider, float(level), capacity, per_second, int(ttl_ms))
            if int(wait_ms) <= 0:
                return self._throttled(provider, waited)
            waited += await self._pause(int(wait_ms))

    def slot_key(self, service: LookupService) -> str:
        """The first free slot of ``service``'s calls.

        One key per deployment (per Redis prefix), not per replica: MusicBrainz counts calls per
        client IP, and a deployment's replicas usually leave through one egress IP. A deployment with
        several egress IPs is then only slower than it could be, never over the limit."""
        return f"{self.app_key(service)}:slot"

    async def reserve_slot(self, service: LookupService) -> ReservedSlot:
        """Reserve the next free slot of ``service`` (one call per ``LOOKUP_INTERVALS_S``), without
        waiting for it. Slots are handed out in the order replicas ask, one interval apart."""
        interval_ms = round(LOOKUP_INTERVALS_S[service] * 1000)
        wait_ms, at_ms = await self._slot_script(keys=[self.slot_key(service)], args=[interval_ms])
        return ReservedSlot(at_ms=int(at_ms), wait_s=max(0, int(wait_ms)) / 1000.0)

    async def reserve(self, service: LookupService) -> float:
        """Wait for this call's slot of ``service``; returns the seconds waited.

        May block (one sleep until the slot, no polling). Cancelled while waiting, the slot is left
        unused: the service sees a gap, never two calls closer than the interval.
        """
        slot = await self.reserve_slot(service)
        if slot.wait_s > 0:
            await self._sleep(slot.wait_s)
        return self._throttled(service, slot.wait_s)

    def window_key(self, provider: ProviderName) -> str:
        """The sorted set of ``provider``'s calls in its sliding window (shared by every replica)."""
        return f"{self.app_key(provider)}:window"

    async def _acquire_in_window(self, provider: ProviderName, spec: WindowSpec) -> float:
        keys = [self.window_key(provider)]
        args: list[int | str] = [spec.calls, round(spec.window_s * 1000), uuid.uuid4().hex]
        waited = 0.0
        while True:
            wait_ms = int(await self._window_script(keys=keys, args=args))
            if wait_ms <= 0:
                return self._throttled(provider, waited)
            # A full window frees its slots in the pattern it filled them: a call waits until the one it
            # replaces leaves, and a jitter proportional to that wait (seconds) would leave slots idle.
            waited += await self._pause(wait_ms, jitter_s=random.random() * WINDOW_JITTER_S)

    async def _pause(self, wait_ms: int, *, jitter_s: float | None = None) -> float:
        # Jitter spreads replicas (and calls) that wake for the same token.
        delay = wait_ms / 1000.0 + (
            wait_ms / 1000.0 * random.random() * 0.25 if jitter_s is None else jitter_s
        )
        await self._sleep(delay)
        return delay

    def _throttled(self, provider: Upstream, waited: float) -> float:
        if waited and self._metrics is not None:
            self._metrics.wait_seconds.labels(provider.value, "throttle").inc(waited)
        return waited

    def _note(
        self,
        provider: ProviderName,
        level: float,
        capacity: bytes | str | None,
        per_second: bytes | str | None,
        ttl_ms: int,
    ) -> None:
        """Remember what an acquire saw in Redis: the app bucket's level, the advertised bucket."""
        seen = self._seen[provider]
        seen.level = level
        if capacity is None or per_second is None:
            seen.advertised, seen.advertised_until = None, 0.0
        else:
            seen.advertised = (float(capacity), float(per_second))
            seen.advertised_until = time.monotonic() + max(ttl_ms, 0) / 1000.0

    async def adopt(self, provider: ProviderName, advertised: AdvertisedLimit) -> None:
        """Take the bucket ``provider`` advertised on an answer as its app-wide bucket (in calls), for
        every replica, for ``ADVERTISED_TTL_S``; and lower that bucket's level to the calls the
        provider says are left, when it has fewer than we counted (another client of the app used
        them), never raising it.

        Writes to Redis only when the stored bucket differs (or has under half its time left) or the
        level is to be lowered: an answer that tells nothing new costs nothing. Never raises for
        Redis' errors (logged): the answer in hand matters more than the bucket.
        """
        seen = self._seen[provider]
        bucket = (advertised.capacity, advertised.per_second)
        now = time.monotonic()
        store = seen.advertised != bucket or seen.advertised_until - now < ADVERTISED_TTL_S / 2
        left = advertised.remaining_calls
        # The provider counts whole tokens and takes its token a moment after ours: a difference
        # under one call (or one token, when a call costs less) is noise, not calls used elsewhere.
        noise = max(1.0, 1.0 / advertised.tokens_per_call)
        lower = left is not None and left + noise < seen.level
        if not store and not lower:
            return
        previous, previous_until = seen.advertised, seen.advertised_until
        if store:  # before the write: answers arriving meanwhile need not write it again
            seen.advertised, seen.advertised_until = bucket, now + ADVERTISED_TTL_S
        log = logger.bind(provider=provider.value)
        try:
            lowered = await self._advertised_script(
                keys=[self.advertised_key(provider), self.app_key(provider)],
                args=[
                    advertised.capacity,
                    advertised.per_second,
                    int(store),
                    ADVERTISED_TTL_S * 1000,
                    left if left is not None else -1,
                ],
            )
        except RedisError as exc:
            seen.advertised, seen.advertised_until = previous, previous_until
            log.warning("advertised rate limit not stored ({})", type(exc).__name__)
            return
        if store and bucket != previous:
            log.info(
                "adopting the rate limit the provider advertises: {:g} calls at once, {:g} calls/s "
                "({:g} tokens, {:g} tokens/s, {:g} a call); was {}",
                advertised.capacity,
                advertised.per_second,
                advertised.burst_tokens,
                advertised.tokens_per_second,
                advertised.tokens_per_call,
                "none (the static buckets)"
                if previous is None
                else f"{previous[0]:g} calls at once, {previous[1]:g} calls/s",
            )
        if int(lowered) and left is not None:
            seen.level = left
            log.debug("provider has {:g} calls left: our bucket lowered to it", left)


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
