"""Jobs of the signed-in user: the latest snapshot, and its updates as Server-Sent Events.

Snapshots come from Redis (events/handlers.py stores each job.updated). Only the job's owner sees it;
anyone else gets the same 404 as for a job that does not exist. A stream sends the current snapshot,
then every newer one until the job reaches a terminal state (or ``MAX_STREAM_S`` passes: EventSource
reconnects by itself), with a comment line every ``HEARTBEAT_S`` to keep proxies from timing out
(usecases/jobs.py, domain/jobs.py).
"""

from __future__ import annotations

import contextlib
import uuid

from aiohttp import web

from pm_contracts.jobs import JobUpdated
from pm_gateway.domain.jobs import SSE_HEARTBEAT, public_job, sse_event
from pm_gateway.resources import IDENTITY, JOB_EVENT_HUB
from pm_gateway.usecases import jobs
from pm_platform.errors import NotFound
from pm_platform.service import RUNTIME


async def _owned_snapshot(request: web.Request) -> JobUpdated:
    try:
        job_id = uuid.UUID(request.match_info["job_id"])
    except ValueError:
        raise NotFound("no such job") from None
    snapshot = await jobs.user_job(request.app[RUNTIME], request[IDENTITY].user_id, job_id)
    if snapshot is None:
        raise NotFound("no such job")
    return snapshot


async def get_job(request: web.Request) -> web.Response:
    return web.json_response(public_job(await _owned_snapshot(request)))


async def job_events(request: web.Request) -> web.StreamResponse:
    snapshot = await _owned_snapshot(request)
    rt = request.app[RUNTIME]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    async with contextlib.aclosing(jobs.job_updates(rt, rt[JOB_EVENT_HUB], snapshot)) as updates:
        async for update in updates:
            if not response.prepared:  # the first: the latest snapshot, read once the stream follows
                await response.prepare(request)
            await response.write(SSE_HEARTBEAT if update is None else sse_event(update))
    await response.write_eof()
    return response
