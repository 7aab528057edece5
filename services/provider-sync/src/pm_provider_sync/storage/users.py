"""SQL for removing a user's data from the provider_sync schema."""

import uuid

import asyncpg

from pm_platform.jobs import JobStore


async def delete_user_data(conn: asyncpg.Connection, jobs: JobStore, user_id: uuid.UUID) -> int:
    """Remove every row of this schema that belongs to the user; returns how many were removed."""
    links = await conn.execute("DELETE FROM provider_links WHERE user_id = $1", user_id)
    return int(links.split()[-1]) + await jobs.delete_for_user(conn, user_id)
