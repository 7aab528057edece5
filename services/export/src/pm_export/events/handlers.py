"""Event handlers of the export service. Each runs in the transaction that records the event id."""

import asyncpg
from loguru import logger

from pm_contracts.envelope import Envelope
from pm_contracts.users import UserDeleted
from pm_export.storage.users import delete_user_data
from pm_platform.consumers import Handler
from pm_platform.s3 import S3_EXTRA, ObjectStore
from pm_platform.service import Runtime


def event_handlers(rt: Runtime) -> dict[str, Handler]:
    async def on_user_deleted(conn: asyncpg.Connection, envelope: Envelope, event: UserDeleted) -> None:
        store: ObjectStore = rt.extras[S3_EXTRA]
        removed = await delete_user_data(conn, rt.jobs, store, event.user_id)
        logger.info("removed {} row(s) and object(s) of deleted user {}", removed, event.user_id)

    return {"user.deleted": on_user_deleted}
