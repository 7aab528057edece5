"""Redis: the cache of live sessions (``pm:auth:session:<sid>``), beside their durable rows in PostgreSQL.

Written after the transaction that created or refreshed a session commits. On revocation the entry is
replaced by a short-lived ``revoked`` marker, and a write never replaces that marker (one Lua script), so a
late write (a request that read the session before it was revoked) cannot bring it back. Entries live at
most ``max_ttl_s`` (the access-token lifetime). A miss (or Redis being down) falls back to PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

from pm_auth.storage.sessions import Session

REVOKED = "revoked"
# How long the marker outlives a revocation: longer than any request that read the session before it.
REVOKED_MARKER_TTL_S = 3600
DEFAULT_MAX_TTL_S = 900

# SET unless the key holds the revoked marker.
_PUT = """
if redis.call('GET', KEYS[1]) == ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


def _key(prefix: str, session_id: uuid.UUID) -> str:
    return f"{prefix}:{session_id}"


async def put(
    redis: aioredis.Redis, prefix: str, session: Session, max_ttl_s: int = DEFAULT_MAX_TTL_S
) -> None:
    ttl = min(int((session.expires_at - datetime.now(UTC)).total_seconds()), max_ttl_s)
    if ttl <= 0 or session.revoked_at is not None:
        return
    value = json.dumps(
        {
            "user_id": str(session.user_id),
            "expires_at": session.expires_at.isoformat(),
            "last_used_at": session.last_used_at.isoformat(),
        }
    )
    try:
        await redis.eval(_PUT, 1, _key(prefix, session.id), value, REVOKED, str(ttl))  # type: ignore[misc]
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
    if raw in (REVOKED, REVOKED.encode()):
        return False
    data = json.loads(raw)
    return bool(
        data.get("user_id") == str(user_id) and datetime.fromisoformat(data["expires_at"]) > datetime.now(UTC)
    )


async def forget(
    redis: aioredis.Redis, prefix: str, session_ids: list[uuid.UUID], *, marker: bool = True
) -> None:
    """Revoked: leave the marker. ``marker=False`` (account deletion: nothing of the user may stay) only
    deletes; a late write can then live at most ``max_ttl_s``, while the gateway already refuses the
    session's tokens (its own revocation markers)."""
    if not session_ids:
        return
    try:
        if not marker:
            await redis.delete(*(_key(prefix, s) for s in session_ids))
            return
        async with redis.pipeline(transaction=False) as pipe:
            for s in session_ids:
                pipe.set(_key(prefix, s), REVOKED, ex=REVOKED_MARKER_TTL_S)
            await pipe.execute()
    except RedisError as exc:
        logger.warning("session cache delete failed: {}", exc)
