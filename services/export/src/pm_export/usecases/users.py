"""What the export service erases of a deleted user beyond its tables: the user's objects."""

import uuid

from pm_export.domain.objects import user_prefix
from pm_platform.consumers import EventContext
from pm_platform.s3 import OBJECT_STORE


async def erase_user_objects(ctx: EventContext, user_id: uuid.UUID) -> int:
    """Delete every object under the user's prefix; returns how many. Idempotent (none left → 0)."""
    return await ctx.runtime[OBJECT_STORE].delete_prefix(user_prefix(user_id))
