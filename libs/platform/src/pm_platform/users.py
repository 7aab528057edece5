"""A deleted user's data goes from every service, and the chassis does it.

A service declares what it keeps of each user in :class:`UserData`; on ``user.deleted`` the chassis
erases it, with the user's jobs, in the transaction that records the event (a redelivery erases
nothing more). No service writes its own ``user.deleted`` handler.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from loguru import logger

from pm_contracts.users import UserDeleted
from pm_platform.consumers import EventContext, EventHandlers

_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")
# What a service erases beyond its tables (objects in S3, Redis keys, rows keyed otherwise); returns
# how many things it removed. Must be idempotent.
Eraser = Callable[[EventContext, uuid.UUID], Awaitable[int]]


@dataclass(frozen=True)
class UserData:
    """What a service keeps of each user."""

    # Tables of the service's schema with a ``user_id`` column: their rows of the user are deleted.
    tables: tuple[str, ...] = ()
    # Anything the tables cannot say.
    erase: Eraser | None = None

    def __post_init__(self) -> None:
        for table in self.tables:
            if not _TABLE.match(table):  # interpolated into SQL below
                raise ValueError(f"UserData: {table!r} is not a plain table name")


async def delete_user_rows(conn: asyncpg.Connection, table: str, user_id: uuid.UUID) -> int:
    if not _TABLE.match(table):
        raise ValueError(f"{table!r} is not a plain table name")
    status = await conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)
    return int(status.split()[-1])


def user_deletion_handlers(user_data: UserData) -> EventHandlers:
    """The chassis's ``user.deleted`` handler for a service that keeps ``user_data``."""
    handlers = EventHandlers()

    @handlers.on(UserDeleted)
    async def erase_deleted_user(ctx: EventContext, event: UserDeleted) -> None:
        removed = await ctx.runtime.jobs.delete_for_user(ctx.conn, event.user_id)
        for table in user_data.tables:
            removed += await delete_user_rows(ctx.conn, table, event.user_id)
        if user_data.erase is not None:
            removed += await user_data.erase(ctx, event.user_id)
        logger.info("erased {} item(s) of deleted user {}", removed, event.user_id)

    return handlers
