"""Accounts: what auth erases of a deleted user."""

import uuid

from pm_auth.storage.users import delete_user_data
from pm_platform.consumers import EventContext


async def erase_user_rows(ctx: EventContext, user_id: uuid.UUID) -> int:
    """Auth's rows of the user (usually gone already: the deletion request removed them)."""
    return await delete_user_data(ctx.conn, user_id)
