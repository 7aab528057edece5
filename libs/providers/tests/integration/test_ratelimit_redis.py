"""Token buckets and daily quotas on the native stack's real Redis (unique key prefix per test)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from pm_providers.errors import QuotaExceeded
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import ProviderName
from pm_providers.ratelimit import DailyQuota, RateLimiter
from pm_providers.settings import BucketSpec, ProviderLimitsSpec, ProviderSettings

pytestmark = pytest.mark.integration


def settings(prefix: str, provider: BucketSpec, user: BucketSpec | None = None) -> ProviderSettings:
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
