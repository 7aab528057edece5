"""Jobs of the signed-in user: the latest snapshot, and its updates as Server-Sent Events.

Snapshots come from Redis (events/handlers.py stores each job.updated). Only the job's owner sees it;
anyone else gets the same 404 as for a job that does not exist. A stream sends the current snapshot,
then every newer one until the job reaches a terminal state (or ``MAX_STREAM_S`` passes: EventSource
reconnects by itself), with a comment line every ``HEARTBEAT_S`` to keep proxies from timing out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import redis.asyncio as aioredis
import redis.exceptions
from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from pm_contracts.jobs import JobUpdated
from pm_gateway.domain.jobs import SSE_HEARTBEAT, is_terminal, public_job, sse_event
from pm_gateway.http.context import edge
from pm_gateway.http.edge import IDENTITY
from pm_gateway.storage.jobs import JobSnapshots
from pm_platform.errors import NotFound
from pm_platform.resources import ResourceKey
from pm_platform.service import RUNTIME, Runtime
from pm_platform.tasks import cancel_and_wait

HEARTBEAT_S = 15.0
MAX_STREAM_S = 30 * 60.0


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


JOB_EVENT_HUB = ResourceKey("job_event_hub", JobEventHub)


async def job_event_hub(rt: Runtime) -> AsyncIterator[None]:
    hub = JobEventHub(rt.redis, JobSnapshots(rt.redis, rt.redis_key()))
    rt[JOB_EVENT_HUB] = hub
    task = asyncio.create_task(hub.run(), name="job-event-hub")
    try:
        yield
    finally:
        await cancel_and_wait(task)


async def _owned_snapshot(request: web.Request) -> JobUpdated:
    identity = request[IDENTITY]
    try:
        job_id = uuid.UUID(request.match_info["job_id"])
    except ValueError:
        raise NotFound("no such job") from None
    snapshot = await edge(request.app[RUNTIME]).snapshots.get(job_id)
    if snapshot is None or snapshot.user_id != identity.user_id:
        raise NotFound("no such job")
    return snapshot


async def get_job(request: web.Request) -> web.Response:
    return web.json_response(public_job(await _owned_snapshot(request)))


async def job_events(request: web.Request) -> web.StreamResponse:
    snapshot = await _owned_snapshot(request)
    hub = request.app[RUNTIME][JOB_EVENT_HUB]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    with hub.follow(snapshot.job_id) as updates:
        # Following before reading again: an update stored in between is not lost.
        latest = await edge(request.app[RUNTIME]).snapshots.get(snapshot.job_id) or snapshot
        await response.prepare(request)
        await response.write(sse_event(latest))
        deadline = time.monotonic() + MAX_STREAM_S
        while not is_terminal(latest) and time.monotonic() < deadline:
            try:
                update = await asyncio.wait_for(updates.get(), HEARTBEAT_S)
            except TimeoutError:
                await response.write(SSE_HEARTBEAT)
                continue
            if update.updated_at < latest.updated_at:
                continue
            latest = update
            await response.write(sse_event(latest))
    await response.write_eof()
    return response
