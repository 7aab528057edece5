"""What the export service erases of a deleted user beyond its tables: the user's objects."""

import uuid

from pm_export.domain.objects import user_prefixes
from pm_platform.consumers import EventContext
from pm_platform.s3 import OBJECT_STORE


async def erase_user_objects(ctx: EventContext, user_id: uuid.UUID) -> int:
    """Delete every object under the user's prefixes; returns how many. Idempotent (none left → 0)."""
    store = ctx.runtime[OBJECT_STORE]
    return sum([await store.delete_prefix(prefix) for prefix in user_prefixes(user_id)])
