"""Removing a user's data from the export schema and from object storage."""

import uuid

import asyncpg

from pm_platform.jobs import JobStore
from pm_platform.s3 import ObjectStore


def user_prefix(user_id: uuid.UUID) -> str:
    """Every object of a user lives under this prefix (exports, backups), so deletion is one sweep."""
    return f"users/{user_id}/"


async def delete_user_data(
    conn: asyncpg.Connection, jobs: JobStore, store: ObjectStore, user_id: uuid.UUID
) -> int:
    """Remove the user's rows and objects; returns how many were removed. Safe to repeat."""
    objects = await store.delete_prefix(user_prefix(user_id))
    return objects + await jobs.delete_for_user(conn, user_id)
