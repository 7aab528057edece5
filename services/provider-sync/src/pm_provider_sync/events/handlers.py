"""Event handlers of the provider-sync service. Each runs in the transaction that records the event id."""

import asyncpg
from loguru import logger

from pm_contracts.envelope import Envelope
from pm_contracts.users import UserDeleted
from pm_platform.consumers import Handler
from pm_platform.service import Runtime
from pm_provider_sync.storage.users import delete_user_data


def event_handlers(rt: Runtime) -> dict[str, Handler]:
    async def on_user_deleted(conn: asyncpg.Connection, envelope: Envelope, event: UserDeleted) -> None:
        removed = await delete_user_data(conn, rt.jobs, event.user_id)
        logger.info("removed {} row(s) of deleted user {}", removed, event.user_id)

    return {"user.deleted": on_user_deleted}
