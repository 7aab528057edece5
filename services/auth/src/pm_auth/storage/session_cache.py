"""Redis: the cache of live sessions (``pm:auth:session:<sid>``), beside their durable rows in PostgreSQL.

Written after the transaction that created or refreshed a session commits; deleted when it is revoked.
A miss (or Redis being down) falls back to PostgreSQL, so the cache never decides alone.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

from pm_auth.storage.sessions import Session


def _key(prefix: str, session_id: uuid.UUID) -> str:
    return f"{prefix}:{session_id}"


async def put(redis: aioredis.Redis, prefix: str, session: Session) -> None:
    ttl = int((session.expires_at - datetime.now(UTC)).total_seconds())
    if ttl <= 0:
        return
    value = json.dumps(
        {
            "user_id": str(session.user_id),
            "expires_at": session.expires_at.isoformat(),
            "last_used_at": session.last_used_at.isoformat(),
        }
    )
    try:
        await redis.set(_key(prefix, session.id), value, ex=ttl)
    except RedisError as exc:
        logger.warning("session cache write failed: {}", exc)


async def is_live(
    redis: aioredis.Redis, prefix: str, session_id: uuid.UUID, user_id: uuid.UUID
) -> bool | None:
    """True/False from the cache, None when the cache does not know (ask PostgreSQL)."""
    try:
        raw = await redis.get(_key(prefix, session_id))
    except RedisError:
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    return bool(
        data.get("user_id") == str(user_id) and datetime.fromisoformat(data["expires_at"]) > datetime.now(UTC)
    )


async def forget(redis: aioredis.Redis, prefix: str, session_ids: list[uuid.UUID]) -> None:
    if not session_ids:
        return
    try:
        await redis.delete(*(_key(prefix, s) for s in session_ids))
    except RedisError as exc:
        logger.warning("session cache delete failed: {}", exc)
