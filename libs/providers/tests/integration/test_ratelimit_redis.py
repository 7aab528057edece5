"""Token buckets, sliding windows and daily quotas on the native stack's real Redis (unique key prefix per test)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from pm_providers.domain.responses import AdvertisedLimit
from pm_providers.errors import QuotaExceeded
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import ProviderName
from pm_providers.ratelimit import DailyQuota, RateLimiter
from pm_providers.settings import BucketSpec, ProviderLimitsSpec, ProviderSettings, WindowSpec

pytestmark = pytest.mark.integration


def settings(
    prefix: str, provider: BucketSpec | WindowSpec, user: BucketSpec | None = None
) -> ProviderSettings:
    return ProviderSettings(
        PROVIDER_REDIS_PREFIX=prefix,
        PROVIDER_RATE_LIMITS={ProviderName.DEEZER: ProviderLimitsSpec(provider=provider, user=user)},
    )


async def test_bucket_allows_capacity_then_paces(redis: aioredis.Redis, prefix: str) -> None:
    limiter = RateLimiter(redis, settings(prefix, BucketSpec(capacity=5, per_second=20)))
    started = time.monotonic()
    waits = [await limiter.acquire(ProviderName.DEEZER) for _ in range(15)]
    elapsed = time.monotonic() - started
    assert waits[:5] == [0.0] * 5
    assert elapsed >= (15 - 5) / 20 * 0.9
    assert elapsed < 2.0


class _Blocked(Exception):
    """Raised by a limiter's sleep: the call would have had to wait (so the test need not)."""


async def _blocked(delay: float) -> None:
    raise _Blocked(delay)


async def test_a_window_admits_its_calls_then_waits_for_the_oldest_to_leave(
    redis: aioredis.Redis, prefix: str
) -> None:
    limiter = RateLimiter(redis, settings(prefix, WindowSpec(calls=3, window_s=60)), sleep=_blocked)
    assert [await limiter.acquire(ProviderName.DEEZER) for _ in range(3)] == [0.0, 0.0, 0.0]
    with pytest.raises(_Blocked) as blocked:
        await limiter.acquire(ProviderName.DEEZER)
    # Until the first call leaves the window: a minute after it (and a hundredth of a second of jitter).
    assert 59 <= blocked.value.args[0] <= 60 + 1
    assert await redis.zcard(limiter.window_key(ProviderName.DEEZER)) == 3  # the refused call is not in it


async def test_replicas_share_one_window_atomically(redis: aioredis.Redis, prefix: str) -> None:
    """30 concurrent calls through 4 limiter instances: exactly the window's calls get through."""
    spec = settings(prefix, WindowSpec(calls=7, window_s=60))
    limiters = [RateLimiter(redis, spec, sleep=_blocked) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(limiters[i % 4].acquire(ProviderName.DEEZER) for i in range(30)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if o == 0.0) == 7
    assert sum(1 for o in outcomes if isinstance(o, _Blocked)) == 23


async def test_replicas_share_one_bucket_atomically(redis: aioredis.Redis, prefix: str) -> None:
    """40 concurrent acquires from 4 limiter instances: in the first instant only ``capacity`` pass."""
    spec = settings(prefix, BucketSpec(capacity=10, per_second=10))
    limiters = [RateLimiter(redis, spec) for _ in range(4)]
    granted: list[float] = []
    started = time.monotonic()

    async def take(limiter: RateLimiter) -> None:
        await limiter.acquire(ProviderName.DEEZER)
        granted.append(time.monotonic() - started)

    await asyncio.gather(*(take(limiters[i % 4]) for i in range(30)))
    granted.sort()
    # Never more than capacity + rate x window in any window (slowness only lowers the counts).
    for i, t in enumerate(granted):
        assert sum(1 for u in granted[i:] if u - t < 0.09) <= 10
        assert sum(1 for u in granted[i:] if u - t < 1.0) <= 10 + 10
    assert granted[-1] >= (30 - 10) / 10 * 0.9


async def test_user_bucket_limits_one_user_not_the_others(redis: aioredis.Redis, prefix: str) -> None:
    metrics = ProviderMetrics()
    limiter = RateLimiter(
        redis,
        settings(
            prefix, BucketSpec(capacity=100, per_second=100), user=BucketSpec(capacity=2, per_second=10)
        ),
        metrics=metrics,
    )
    assert [await limiter.acquire(ProviderName.DEEZER, "alice") for _ in range(2)] == [0.0, 0.0]
    assert await limiter.acquire(ProviderName.DEEZER, "alice") > 0  # alice waits
    assert await limiter.acquire(ProviderName.DEEZER, "bob") == 0.0  # bob does not
    assert metrics.wait_seconds.labels("deezer", "throttle")._value.get() > 0
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    assert keys
    for k in keys:
        assert await redis.pttl(k) > 0  # buckets expire on their own


async def test_daily_quota(redis: aioredis.Redis, prefix: str) -> None:
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    quota = DailyQuota(
        redis,
        prefix=prefix,
        provider=ProviderName.YOUTUBE,
        project="p",
        limits={"units": 120, "search": 2},
        now=lambda: now,
    )
    assert await quota.remaining("units") == 120
    assert await quota.charge("units", 50) == 70
    assert await quota.charge("units", 50) == 20
    with pytest.raises(QuotaExceeded) as err:
        await quota.charge("units", 50)
    assert err.value.resets_at == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    assert await quota.remaining("units") == 20  # a refused charge costs nothing
    await quota.charge("search", 1)
    await quota.exhaust("search")
    assert await quota.remaining("search") == 0
    # The next Pacific day starts from zero.
    now = datetime(2026, 7, 2, 7, 0, 1, tzinfo=UTC)
    assert await quota.remaining("units") == 120


async def test_daily_quota_is_atomic_across_replicas(redis: aioredis.Redis, prefix: str) -> None:
    quotas = [
        DailyQuota(redis, prefix=prefix, provider=ProviderName.YOUTUBE, project="p", limits={"units": 100})
        for _ in range(3)
    ]

    async def charge(q: DailyQuota) -> bool:
        try:
            await q.charge("units", 7)
            return True
        except QuotaExceeded:
            return False

    results = await asyncio.gather(*(charge(quotas[i % 3]) for i in range(30)))
    assert sum(results) == 100 // 7
    assert await quotas[0].remaining("units") == 100 - 7 * (100 // 7)


async def test_daily_quota_follows_the_providers_clock(redis: aioredis.Redis, prefix: str) -> None:
    """The day is YouTube's (our clock + the learned offset); resets come back on our clock."""
    ours = datetime(2026, 7, 1, 5, 59, 30, tzinfo=UTC)  # 22:59:30 PDT by our clock
    now = ours
    quota = DailyQuota(
        redis,
        prefix=prefix,
        provider=ProviderName.YOUTUBE,
        project="p",
        limits={"units": 2},
        now=lambda: now,
        offset=lambda: timedelta(hours=1),  # YouTube says 23:59:30 PDT
    )
    assert quota.resets_at() == ours + timedelta(seconds=30)  # YouTube's midnight, not ours in 1 h
    assert await quota.charge("units", 2) == 0
    with pytest.raises(QuotaExceeded) as err:
        await quota.charge("units", 1)
    assert err.value.resets_at == ours + timedelta(seconds=30)
    keys = [k.decode() async for k in redis.scan_iter(match=f"{prefix}:*")]
    assert keys == [f"{prefix}:quota:youtube:p:2026-06-30:units"]
    now = ours + timedelta(seconds=31)  # YouTube's new day; still June 30 by our clock
    assert await quota.remaining("units") == 2
    # YouTube's own refusal names the reset that just passed (our estimate is a few seconds off):
    # the day that ended then is marked, not the new one.
    await quota.exhaust("units", until=ours + timedelta(seconds=30))
    assert await quota.remaining("units") == 2
    now = ours
    assert await quota.remaining("units") == 0


# TIDAL's static buckets in the tests below: so slow that a bucket once empty stays empty for the
# test's life, and the user's holds one call.
SLOW_STATIC = ProviderLimitsSpec(
    provider=BucketSpec(capacity=2, per_second=0.001), user=BucketSpec(capacity=1, per_second=0.001)
)


class WouldWait(Exception):
    """Raised instead of sleeping: the limiter wanted to wait ``args[0]`` seconds."""


async def refuse(delay: float) -> None:
    raise WouldWait(delay)


def tidal_limiter(redis: aioredis.Redis, prefix: str) -> RateLimiter:
    """A limiter (one replica) whose waits raise WouldWait instead of sleeping."""
    return RateLimiter(
        redis,
        ProviderSettings(
            PROVIDER_REDIS_PREFIX=prefix, PROVIDER_RATE_LIMITS={ProviderName.TIDAL: SLOW_STATIC}
        ),
        sleep=refuse,
    )


async def assert_waits(limiter: RateLimiter, user_key: str | None = None) -> float:
    with pytest.raises(WouldWait) as err:
        await limiter.acquire(ProviderName.TIDAL, user_key)
    delay: float = err.value.args[0]
    return delay


# 10 calls at once, 0.01 calls/s (a call every 100 s): burst 20 tokens, 0.02 tokens/s, 2 a call.
ADVERTISED = AdvertisedLimit(burst_tokens=20, tokens_per_second=0.02, tokens_per_call=2)


async def test_without_an_advertised_bucket_the_static_ones_apply(redis: aioredis.Redis, prefix: str) -> None:
    limiter = tidal_limiter(redis, prefix)
    assert await limiter.acquire(ProviderName.TIDAL, "alice") == 0.0
    await assert_waits(limiter, "alice")  # her bucket holds one call
    assert await limiter.acquire(ProviderName.TIDAL, "bob") == 0.0
    await assert_waits(limiter, "carol")  # the app's holds two
    assert not await redis.exists(limiter.advertised_key(ProviderName.TIDAL))


async def test_an_advertised_bucket_replaces_the_static_one_and_the_users(
    redis: aioredis.Redis, prefix: str
) -> None:
    limiter = tidal_limiter(redis, prefix)
    await limiter.adopt(ProviderName.TIDAL, ADVERTISED)
    stored = await redis.hgetall(limiter.advertised_key(ProviderName.TIDAL))
    assert {k.decode(): float(v) for k, v in stored.items()} == {"capacity": 10.0, "per_second": 0.01}
    # Ten calls for one user (the static buckets: one for her, two for the app), by another replica.
    replica = tidal_limiter(redis, prefix)
    assert [await replica.acquire(ProviderName.TIDAL, "alice") for _ in range(10)] == [0.0] * 10
    # The eleventh waits for the advertised rate (100 s a call, less what refilled meanwhile, jittered
    # by up to 25 %), not the static 1,000 s; the user's bucket was never charged.
    assert 90 <= await assert_waits(replica, "alice") <= 125
    assert [k async for k in redis.scan_iter(match=f"{prefix}:rl:tidal:user:*")] == []
    # Forgotten (expired): the static buckets again, the user's included.
    await redis.delete(limiter.advertised_key(ProviderName.TIDAL))
    await redis.delete(f"{prefix}:rl:tidal")
    assert await replica.acquire(ProviderName.TIDAL, "alice") == 0.0
    await assert_waits(replica, "alice")


async def test_the_calls_left_lower_our_level_and_never_raise_it(redis: aioredis.Redis, prefix: str) -> None:
    limiter = tidal_limiter(redis, prefix)
    # The provider has 3 calls left (6 tokens): another client of the app took the rest.
    await limiter.adopt(ProviderName.TIDAL, AdvertisedLimit(20, 0.02, 2, remaining_tokens=6))
    assert [await limiter.acquire(ProviderName.TIDAL, "alice") for _ in range(3)] == [0.0] * 3
    await assert_waits(limiter)
    # An answer saying more is left (an older one, or a refill we have not seen) raises nothing,
    # whichever replica reads it: this one knows its bucket is empty and writes nothing, a new one
    # (nothing seen yet) writes and the script keeps the lower level.
    await limiter.adopt(ProviderName.TIDAL, AdvertisedLimit(20, 0.02, 2, remaining_tokens=18))
    await assert_waits(limiter)
    await tidal_limiter(redis, prefix).adopt(
        ProviderName.TIDAL, AdvertisedLimit(20, 0.02, 2, remaining_tokens=18)
    )
    await assert_waits(limiter)
    level = float((await redis.hget(f"{prefix}:rl:tidal", "tokens")) or 0)
    assert level < 1


async def test_the_advertised_bucket_expires_and_is_stored_only_when_it_changes(
    redis: aioredis.Redis, prefix: str
) -> None:
    limiter = tidal_limiter(redis, prefix)
    key = limiter.advertised_key(ProviderName.TIDAL)
    await limiter.adopt(ProviderName.TIDAL, ADVERTISED)
    assert 3_500_000 < await redis.pttl(key) <= 3_600_000  # an hour
    # The same bucket again, on this replica and on one that has seen it stored: no write (the TTL
    # was shortened by hand and stays short).
    await redis.pexpire(key, 3_000_000)
    await limiter.acquire(ProviderName.TIDAL)  # every acquire shows what is stored
    await limiter.adopt(ProviderName.TIDAL, ADVERTISED)
    replica = tidal_limiter(redis, prefix)
    await replica.acquire(ProviderName.TIDAL)
    await replica.adopt(ProviderName.TIDAL, ADVERTISED)
    assert await redis.pttl(key) <= 3_000_000
    # Under half an hour left: stored again, so a bucket still advertised is not forgotten.
    await redis.pexpire(key, 1_000_000)
    await limiter.acquire(ProviderName.TIDAL)
    await limiter.adopt(ProviderName.TIDAL, ADVERTISED)
    assert await redis.pttl(key) > 3_500_000
    # A changed bucket is stored at once.
    await limiter.adopt(ProviderName.TIDAL, AdvertisedLimit(10, 1, 5))
    stored = await redis.hgetall(key)
    assert {k.decode(): float(v) for k, v in stored.items()} == {"capacity": 2.0, "per_second": 0.2}
    # Gone from Redis (expired, flushed): the next acquire shows it, and the next answer stores it.
    await redis.delete(key)
    await limiter.acquire(ProviderName.TIDAL)
    await limiter.adopt(ProviderName.TIDAL, AdvertisedLimit(10, 1, 5))
    assert await redis.exists(key)
