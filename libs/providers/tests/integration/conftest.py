"""The stack's Redis, and a key prefix of its own per test there, its keys deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis


@pytest.fixture
async def prefix(redis: aioredis.Redis) -> AsyncIterator[str]:
    p = f"pm:test:providers:{uuid.uuid4().hex[:12]}"
    yield p
    async for key in redis.scan_iter(match=f"{p}:*"):
        await redis.delete(key)
