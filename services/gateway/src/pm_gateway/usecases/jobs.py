"""Jobs as the gateway keeps them for clients: each job.updated stored as the job's latest snapshot, a
user's own job read back, and its updates followed for a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator

from pm_contracts.jobs import JobUpdated
from pm_gateway.domain.jobs import HEARTBEAT_S, MAX_STREAM_S, is_terminal
from pm_gateway.storage.jobs import JobEventHub, JobSnapshots
from pm_platform.service import Runtime


def job_snapshots(rt: Runtime) -> JobSnapshots:
    """The gateway's job snapshots (in Redis, under its key prefix)."""
    return JobSnapshots(rt.redis, rt.redis_key())


async def record_update(rt: Runtime, event: JobUpdated) -> bool:
    """job.updated: the job's snapshot now, published to the streams following it; False (nothing
    stored) when the event is older than the snapshot already kept."""
    return await job_snapshots(rt).store(event)


async def user_job(rt: Runtime, user_id: uuid.UUID, job_id: uuid.UUID) -> JobUpdated | None:
    """The job's latest snapshot when ``user_id`` owns it; None when there is no such job or it is
    someone else's (the caller must not tell the two apart)."""
    snapshot = await job_snapshots(rt).get(job_id)
    return snapshot if snapshot is not None and snapshot.user_id == user_id else None


async def job_updates(
    rt: Runtime,
    hub: JobEventHub,
    snapshot: JobUpdated,
    heartbeat_s: float = HEARTBEAT_S,
    max_s: float = MAX_STREAM_S,
) -> AsyncGenerator[JobUpdated | None, None]:
    """What a stream of the job sends: its latest snapshot at once, then every newer one until the job
    reaches a terminal state or ``max_s`` passes; None after each ``heartbeat_s`` without news."""
    with hub.follow(snapshot.job_id) as updates:
        # Following before reading again: an update stored in between is not lost.
        latest = await job_snapshots(rt).get(snapshot.job_id) or snapshot
        yield latest
        deadline = time.monotonic() + max_s
        while not is_terminal(latest) and time.monotonic() < deadline:
            try:
                update = await asyncio.wait_for(updates.get(), heartbeat_s)
            except TimeoutError:
                yield None
                continue
            if update.updated_at < latest.updated_at:
                continue
            latest = update
            yield latest
