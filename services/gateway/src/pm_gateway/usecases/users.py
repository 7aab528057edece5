"""What the gateway erases of a deleted user beyond its tables: the snapshots of the user's jobs."""

import uuid

from pm_gateway.usecases.jobs import job_snapshots
from pm_platform.consumers import EventContext


async def erase_job_snapshots(ctx: EventContext, user_id: uuid.UUID) -> int:
    """Sessions of a deleted user arrive as their own session.revoked events (reason user_deleted)."""
    return await job_snapshots(ctx.runtime).delete_for_user(user_id)
