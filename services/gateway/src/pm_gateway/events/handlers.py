"""Event handlers of the gateway. Each runs in the transaction that records the event id."""

from datetime import UTC, datetime

import asyncpg

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_contracts.system import ServiceStarted
from pm_contracts.users import UserDeleted
from pm_gateway.settings import GatewaySettings
from pm_gateway.storage.instances import record_instance
from pm_gateway.storage.jobs import JobSnapshots
from pm_gateway.storage.revocations import RevokedSessions
from pm_platform.consumers import Handler
from pm_platform.service import Runtime


def event_handlers(rt: Runtime) -> dict[str, Handler]:
    assert isinstance(rt.settings, GatewaySettings)
    leeway_s = rt.settings.token_leeway_s

    def snapshots() -> JobSnapshots:
        return JobSnapshots(rt.redis, rt.redis_key())

    async def on_service_started(conn: asyncpg.Connection, envelope: Envelope, event: ServiceStarted) -> None:
        await record_instance(conn, event)

    async def on_job_updated(conn: asyncpg.Connection, envelope: Envelope, event: JobUpdated) -> None:
        await snapshots().store(event)

    async def on_user_deleted(conn: asyncpg.Connection, envelope: Envelope, event: UserDeleted) -> None:
        # Sessions of a deleted user arrive as their own session.revoked events (reason user_deleted).
        await snapshots().delete_for_user(event.user_id)
        await rt.jobs.delete_for_user(conn, event.user_id)

    async def on_session_revoked(conn: asyncpg.Connection, envelope: Envelope, event: SessionRevoked) -> None:
        # Idempotent (a redelivery sets the same key); a session whose tokens expired needs nothing.
        revoked = RevokedSessions(rt.redis, rt.redis_key(), leeway_s)
        await revoked.revoke(event.session_id, event.access_expires_at, datetime.now(UTC))

    return {
        "service.started": on_service_started,
        "job.updated": on_job_updated,
        "user.deleted": on_user_deleted,
        "session.revoked": on_session_revoked,
    }
