"""TIDAL's advertised bucket (``x-ratelimit-*`` on every answer) taken up by the limiter, against the
emulator's token bucket (this test's own emulator: its limits are free to change).

Buckets in calls: the emulator's burst and rate divided by the tokens a call costs.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from pm_providers import Providers
from pm_providers.models import ProviderName
from pm_providers.ratelimit import RateLimiter

from .conftest import EmulatorFactory, EmulatorHarness, EmulatorTokens, ProvidersFactory, User

pytestmark = pytest.mark.integration

TIDAL = ProviderName.TIDAL


async def one_call(providers: Providers, emulator: EmulatorHarness, user: User) -> None:
    """One TIDAL call (a new adapter: each reads the user once)."""
    await providers.adapter(TIDAL, EmulatorTokens(emulator, user), user_key=user.id).current_user()


async def stored_bucket(redis: aioredis.Redis, providers: Providers) -> dict[str, float]:
    stored = await redis.hgetall(providers.limiter.advertised_key(TIDAL))
    return {k.decode(): float(v) for k, v in stored.items()}


async def test_the_emulators_bucket_is_adopted_after_one_call_and_relearned_when_changed(
    make_emulator: EmulatorFactory, make_providers: ProvidersFactory, redis: aioredis.Redis
) -> None:
    emulator = await make_emulator(rate_limits=True)  # TIDAL: 200 tokens, 20/s, 1 a call
    providers = await make_providers(emulator)
    user = await emulator.create_user(TIDAL)
    assert await stored_bucket(redis, providers) == {}
    await one_call(providers, emulator, user)
    assert await stored_bucket(redis, providers) == {"capacity": 200.0, "per_second": 20.0}
    assert 0 < await redis.pttl(providers.limiter.advertised_key(TIDAL)) <= 3_600_000

    await emulator.rate_limit("tidal", capacity=20, refill_per_s=2, cost=2)
    await one_call(providers, emulator, user)
    assert await stored_bucket(redis, providers) == {"capacity": 10.0, "per_second": 1.0}


async def test_a_bucket_drained_by_another_client_of_the_app_is_not_overdrawn(
    make_emulator: EmulatorFactory,
    make_providers: ProvidersFactory,
    redis: aioredis.Redis,
    key_prefix: str,
) -> None:
    """Another deployment of the app (same client id at TIDAL, its own Redis state) has used 7 of the
    10 calls the bucket holds; ours, whose static bucket is unlimited, is down to what TIDAL has left
    after its first call."""
    emulator = await make_emulator(rate_limits=True)
    # 10 calls at once, a call every 100 s: nothing refills during the test.
    await emulator.rate_limit("tidal", capacity=20, refill_per_s=0.02, cost=2)
    user = await emulator.create_user(TIDAL)
    other = await make_providers(emulator, rate_limit_key_prefix=f"{key_prefix}:other")
    for _ in range(7):
        await one_call(other, emulator, user)

    ours = await make_providers(emulator)
    await one_call(ours, emulator, user)  # TIDAL: 2 calls left
    assert await stored_bucket(redis, ours) == {"capacity": 10.0, "per_second": 0.01}
    level = float(await redis.hget(f"{key_prefix}:rl:tidal", "tokens") or "nan")
    assert level == pytest.approx(2, abs=0.05)

    class WouldWait(Exception):
        pass

    async def refuse(_delay: float) -> None:
        raise WouldWait

    # Two more calls go out at once; the third is held back (instead of a 429 from TIDAL).
    replica = RateLimiter(redis, ours.settings, sleep=refuse)
    assert [await replica.acquire(TIDAL, user.id) for _ in range(2)] == [0.0, 0.0]
    with pytest.raises(WouldWait):
        await replica.acquire(TIDAL, user.id)
