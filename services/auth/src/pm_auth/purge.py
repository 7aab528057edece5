"""The periodic purge of what no longer matters: sessions that ended (revoked or expired) more than
SESSION_RETENTION_DAYS ago, with their refresh tokens, and refresh tokens used longer ago than that.

Within the retention period nothing goes, so a used refresh token presented again is still found and
still revokes its session (reuse detection). Deletes run in bounded batches, each its own short
transaction, skipping rows a concurrent refresh holds; every replica may run it at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from loguru import logger

from pm_auth.settings import AuthSettings
from pm_auth.storage import sessions as sessions_sql
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait

BATCH = 500
# The first pass runs this soon after start-up (or after one interval, if shorter), then every interval.
FIRST_PASS_AFTER_S = 60.0

# A storage function deleting up to ``limit`` rows older than a cutoff: (conn, cutoff, limit) -> deleted.
_Delete = Callable[[asyncpg.Connection, datetime, int], Awaitable[int]]


@dataclass(frozen=True)
class PurgeReport:
    sessions: int
    refresh_tokens: int


async def purge_once(
    pool: asyncpg.Pool, retention: timedelta, now: datetime, *, batch: int = BATCH
) -> PurgeReport:
    """One pass: used refresh tokens, then ended sessions, older than ``now - retention``.

    Used tokens go first, so each ended session takes at most its last (unused) token along with it.
    """
    cutoff = now - retention
    tokens = await _in_batches(pool, sessions_sql.delete_used_refresh_tokens, cutoff, batch)
    sessions = await _in_batches(pool, sessions_sql.delete_ended_sessions, cutoff, batch)
    return PurgeReport(sessions=sessions, refresh_tokens=tokens)


async def _in_batches(pool: asyncpg.Pool, delete: _Delete, cutoff: datetime, batch: int) -> int:
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            n = await delete(conn, cutoff, batch)
        total += n
        if n < batch:
            return total
        await asyncio.sleep(0)  # let requests in between batches


async def purge_forever(pool: asyncpg.Pool, retention: timedelta, interval_s: float) -> None:
    """Run :func:`purge_once` every ``interval_s`` until cancelled; a failed pass is logged, not fatal."""
    await asyncio.sleep(min(interval_s, FIRST_PASS_AFTER_S))
    while True:
        try:
            report = await purge_once(pool, retention, datetime.now(UTC))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning(
                "session purge failed ({}: {}); next try in {:.0f}s", type(exc).__name__, exc, interval_s
            )
        else:
            if report.sessions or report.refresh_tokens:
                logger.info(
                    "purged {} ended session(s) and {} used refresh token(s) older than {} days",
                    report.sessions,
                    report.refresh_tokens,
                    retention.days,
                )
        await asyncio.sleep(interval_s)


async def session_purge(rt: Runtime) -> AsyncIterator[None]:
    """The purge loop as a resource of the service (off with SESSION_PURGE_INTERVAL_S=0)."""
    settings = rt.settings
    assert isinstance(settings, AuthSettings)
    interval = settings.session_purge_interval_s
    task = (
        asyncio.create_task(
            purge_forever(rt.pool, settings.session_retention, interval), name="session-purge"
        )
        if interval > 0
        else None
    )
    try:
        yield
    finally:
        await cancel_and_wait(task)
