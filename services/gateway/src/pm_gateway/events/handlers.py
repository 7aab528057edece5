"""Event handlers of the gateway. Each runs in the transaction that records the event id."""

import asyncpg

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobUpdated
from pm_contracts.system import ServiceStarted
from pm_contracts.users import UserDeleted
from pm_gateway.storage.instances import record_instance
from pm_gateway.storage.jobs import JobSnapshots
from pm_platform.consumers import Handler
from pm_platform.service import Runtime


def event_handlers(rt: Runtime) -> dict[str, Handler]:
    def snapshots() -> JobSnapshots:
        return JobSnapshots(rt.redis, rt.redis_key())

    async def on_service_started(conn: asyncpg.Connection, envelope: Envelope, event: ServiceStarted) -> None:
        await record_instance(conn, event)

    async def on_job_updated(conn: asyncpg.Connection, envelope: Envelope, event: JobUpdated) -> None:
        await snapshots().store(event)

    async def on_user_deleted(conn: asyncpg.Connection, envelope: Envelope, event: UserDeleted) -> None:
        await snapshots().delete_for_user(event.user_id)
        await rt.jobs.delete_for_user(conn, event.user_id)

    return {
        "service.started": on_service_started,
        "job.updated": on_job_updated,
        "user.deleted": on_user_deleted,
    }
