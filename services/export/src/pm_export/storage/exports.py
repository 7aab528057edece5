"""The exports table: the stored file of each completed export."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class StoredExport:
    job_id: uuid.UUID
    user_id: uuid.UUID
    format: str
    object_name: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    playlists: int
    entries: int
    created_at: datetime
    expires_at: datetime


async def save_export(conn: asyncpg.Connection, export: StoredExport) -> None:
    """Record the stored file (a retried job that stored it again replaces the row)."""
    await conn.execute(
        """INSERT INTO exports (job_id, user_id, format, object_name, file_name, media_type, size_bytes,
                                sha256, playlists, entries, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (job_id) DO UPDATE SET object_name = EXCLUDED.object_name,
               file_name = EXCLUDED.file_name, size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256,
               playlists = EXCLUDED.playlists, entries = EXCLUDED.entries,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at""",
        export.job_id,
        export.user_id,
        export.format,
        export.object_name,
        export.file_name,
        export.media_type,
        export.size_bytes,
        export.sha256,
        export.playlists,
        export.entries,
        export.created_at,
        export.expires_at,
    )


async def find_export(conn: asyncpg.Connection, user_id: uuid.UUID, job_id: uuid.UUID) -> StoredExport | None:
    """The user's export of that job, or None (another user's is None too)."""
    row = await conn.fetchrow("SELECT * FROM exports WHERE job_id = $1 AND user_id = $2", job_id, user_id)
    return StoredExport(**dict(row)) if row is not None else None
