"""Fixtures every kind of pm_providers test that needs the stack's Redis shares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pm_devstack.stack import InfraEndpoints


@pytest.fixture
async def redis(infra: InfraEndpoints) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(infra.redis_url)
    yield client
    await client.aclose()
