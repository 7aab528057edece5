"""Event handlers of the gateway: each runs in the transaction that records the event id. A deleted
user's data is erased by the chassis (app.py declares what the gateway keeps)."""

from datetime import UTC, datetime

from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_contracts.system import ServiceStarted
from pm_gateway.settings import GatewaySettings
from pm_gateway.storage.instances import record_instance
from pm_gateway.storage.jobs import JobSnapshots
from pm_gateway.storage.revocations import RevokedSessions
from pm_platform.consumers import EventContext, EventHandlers

handlers = EventHandlers()


@handlers.on(ServiceStarted)
async def on_service_started(ctx: EventContext, event: ServiceStarted) -> None:
    await record_instance(ctx.conn, event)


@handlers.on(JobUpdated)
async def on_job_updated(ctx: EventContext, event: JobUpdated) -> None:
    rt = ctx.runtime
    await JobSnapshots(rt.redis, rt.redis_key()).store(event)


@handlers.on(SessionRevoked)
async def on_session_revoked(ctx: EventContext, event: SessionRevoked) -> None:
    # Idempotent (a redelivery sets the same key); a session whose tokens expired needs nothing.
    rt = ctx.runtime
    assert isinstance(rt.settings, GatewaySettings)
    revoked = RevokedSessions(rt.redis, rt.redis_key(), rt.settings.token_leeway_s)
    await revoked.revoke(event.session_id, event.access_expires_at, datetime.now(UTC))
