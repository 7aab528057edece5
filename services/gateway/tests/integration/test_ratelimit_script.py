"""The Redis script enforces the same GCRA as domain/ratelimit.py, atomically over several buckets."""

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from pm_gateway.domain.idempotency import Record, StoredResponse
from pm_gateway.domain.ratelimit import RateLimit
from pm_gateway.storage.idempotency import IdempotencyStore
from pm_gateway.storage.ratelimit import Bucket, RateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(infra):
    client = aioredis.from_url(infra.redis_url.rsplit("/", 1)[0] + "/13")
    prefix = f"test:{uuid.uuid4().hex}"
    yield client, prefix
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_burst_then_refusal(redis):
    client, prefix = redis
    limiter = RateLimiter(client)
    bucket = Bucket(f"{prefix}:a", RateLimit.parse("1/m;burst=3"))
    decisions = [(await limiter.hit([bucket]))[0] for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after_s == pytest.approx(60, abs=1)  # one slot per minute
    assert 0 < await client.pttl(bucket.key) <= 180_001  # until the bucket is full again (+1 ms)


async def test_all_buckets_or_none(redis):
    client, prefix = redis
    limiter = RateLimiter(client)
    loose = Bucket(f"{prefix}:loose", RateLimit.parse("100/s"))
    tight = Bucket(f"{prefix}:tight", RateLimit.parse("1/m;burst=1"))
    assert (await limiter.hit([loose, tight]))[0].allowed
    before = await client.get(loose.key)
    decision, _ = await limiter.hit([loose, tight])
    assert not decision.allowed
    assert decision.limit == 1
    assert await client.get(loose.key) == before  # the refused request cost the loose bucket nothing


async def test_concurrent_requests_never_exceed_the_burst(redis):
    client, prefix = redis
    limiter = RateLimiter(client)
    bucket = Bucket(f"{prefix}:c", RateLimit.parse("1/h;burst=10"))
    results = await asyncio.gather(*[limiter.hit([bucket]) for _ in range(50)])
    assert sum(d.allowed for d, _ in results) == 10


async def test_revocation_is_answered_in_the_same_call(redis):
    client, prefix = redis
    limiter = RateLimiter(client)
    bucket = Bucket(f"{prefix}:r", RateLimit.parse("10/s"))
    assert (await limiter.hit([bucket], f"{prefix}:revoked:x"))[1] is False
    await client.set(f"{prefix}:revoked:x", "1", ex=60)
    assert (await limiter.hit([bucket], f"{prefix}:revoked:x"))[1] is True


async def test_idempotency_store(redis):
    client, prefix = redis
    store = IdempotencyStore(client, prefix, ttl_s=3600, in_flight_ttl_s=30)
    assert await store.claim("k", "fp") is None
    assert await store.claim("k", "fp") == Record("fp")  # in flight
    done = Record("fp", StoredResponse(201, [("Content-Type", "application/json")], b"{}"))
    await store.complete("k", done)
    assert await store.claim("k", "other") == done
    await store.release("k")
    assert await store.claim("k", "other") is None
