"""Event handlers of the gateway: each runs in the transaction that records the event id and calls a
use case. A deleted user's data is erased by the chassis (app.py declares what the gateway keeps)."""

from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_contracts.system import ServiceStarted
from pm_gateway.usecases import instances, jobs, sessions
from pm_platform.consumers import EventContext, EventHandlers

handlers = EventHandlers()


@handlers.on(ServiceStarted)
async def on_service_started(ctx: EventContext, event: ServiceStarted) -> None:
    await instances.record_started(ctx.conn, event)


@handlers.on(JobUpdated)
async def on_job_updated(ctx: EventContext, event: JobUpdated) -> None:
    await jobs.record_update(ctx.runtime, event)


@handlers.on(SessionRevoked)
async def on_session_revoked(ctx: EventContext, event: SessionRevoked) -> None:
    await sessions.revoke(ctx.runtime, event)
