"""The latest snapshot of every job, kept in Redis for clients, and published for SSE streams.

Each stored snapshot is also published on ``pm:gateway:job-events:<job_id>``, so every gateway
instance can push it to the clients following that job (http/jobs.py).
"""

import uuid

import redis.asyncio as aioredis

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
