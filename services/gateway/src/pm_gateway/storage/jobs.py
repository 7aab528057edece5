"""The latest snapshot of every job, kept in Redis for clients, and published for SSE streams.

Each stored snapshot is also published on ``pm:gateway:job-events:<job_id>``, so every gateway
instance can push it to the clients following that job (``JobEventHub``, usecases/jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterator

import redis.asyncio as aioredis
import redis.exceptions
from loguru import logger
from pydantic import ValidationError

from pm_contracts.jobs import JobUpdated

SNAPSHOT_TTL_S = 7 * 24 * 3600


class JobSnapshots:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _job_key(self, job_id: uuid.UUID) -> str:
        return f"{self._prefix}:job:{job_id}"

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}:user-jobs:{user_id}"

    def channel(self, job_id: uuid.UUID) -> str:
        return f"{self._prefix}:job-events:{job_id}"

    @property
    def channel_pattern(self) -> str:
        return f"{self._prefix}:job-events:*"

    async def store(self, event: JobUpdated) -> bool:
        """Keep the newest snapshot: an older event arriving late never overwrites a newer one.
        Publishes what it stored; False when the event was older than the snapshot."""
        key = self._job_key(event.job_id)
        current = await self._redis.get(key)
        if current is not None and JobUpdated.model_validate_json(current).updated_at > event.updated_at:
            return False
        raw = event.model_dump_json()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, raw, ex=SNAPSHOT_TTL_S)
            if event.user_id is not None:
                pipe.sadd(self._user_key(event.user_id), str(event.job_id))
                pipe.expire(self._user_key(event.user_id), SNAPSHOT_TTL_S)
            pipe.publish(self.channel(event.job_id), raw)
            await pipe.execute()
        return True

    async def get(self, job_id: uuid.UUID) -> JobUpdated | None:
        raw = await self._redis.get(self._job_key(job_id))
        return JobUpdated.model_validate_json(raw) if raw is not None else None

    async def delete_for_user(self, user_id: uuid.UUID) -> int:
        job_ids = await self._redis.smembers(self._user_key(user_id))  # type: ignore[misc]
        keys = [self._job_key(uuid.UUID(j.decode() if isinstance(j, bytes) else j)) for j in job_ids]
        return int(await self._redis.delete(*keys, self._user_key(user_id))) if keys else 0


class JobEventHub:
    """One Redis pattern subscription per gateway process, fanned out to the streams following each
    job (rather than one Redis connection per open stream)."""

    def __init__(self, redis: aioredis.Redis, snapshots: JobSnapshots) -> None:
        self._redis = redis
        self._snapshots = snapshots
        self._followers: dict[str, set[asyncio.Queue[JobUpdated]]] = defaultdict(set)

    @contextlib.contextmanager
    def follow(self, job_id: uuid.UUID) -> Iterator[asyncio.Queue[JobUpdated]]:
        channel = self._snapshots.channel(job_id)
        queue: asyncio.Queue[JobUpdated] = asyncio.Queue(maxsize=100)
        self._followers[channel].add(queue)
        try:
            yield queue
        finally:
            self._followers[channel].discard(queue)
            if not self._followers[channel]:
                del self._followers[channel]

    async def run(self) -> None:
        """Receive published snapshots until cancelled, resubscribing after a lost connection."""
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._snapshots.channel_pattern)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message)
            except (redis.exceptions.RedisError, OSError) as exc:
                logger.warning("job event subscription lost ({}); resubscribing", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _deliver(self, message: dict[str, object]) -> None:
        channel = message.get("channel")
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        followers = self._followers.get(channel)
        if not followers:
            return
        data = message.get("data")
        try:
            snapshot = JobUpdated.model_validate_json(data if isinstance(data, bytes | str) else b"")
        except ValidationError:
            return
        for queue in list(followers):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled stream misses updates, not memory
                queue.put_nowait(snapshot)
