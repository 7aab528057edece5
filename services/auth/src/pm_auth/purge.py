"""The periodic purge of what no longer matters: sessions that ended (revoked or expired) more than
SESSION_RETENTION_DAYS ago, with their refresh tokens.

A live session keeps every refresh token it used, however old: a stolen one presented again must
still revoke the session it belongs to (reuse detection), and a session lives at most its absolute
lifetime, so its tokens go with it in the end. Deletes run in bounded batches, each its own short
transaction, skipping rows a concurrent refresh holds; every replica may run it at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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


@dataclass(frozen=True)
class PurgeReport:
    sessions: int
    refresh_tokens: int


async def purge_once(
    pool: asyncpg.Pool, retention: timedelta, now: datetime, *, batch: int = BATCH
) -> PurgeReport:
    """One pass: the sessions that ended before ``now - retention``, and their refresh tokens, in
    batches of ``batch`` sessions."""
    cutoff = now - retention
    sessions = tokens = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            deleted, their_tokens = await sessions_sql.delete_ended_sessions(conn, cutoff, batch)
        sessions, tokens = sessions + deleted, tokens + their_tokens
        if deleted < batch:
            return PurgeReport(sessions=sessions, refresh_tokens=tokens)
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
                    "purged {} session(s) that ended more than {} days ago, with {} refresh token(s)",
                    report.sessions,
                    retention.days,
                    report.refresh_tokens,
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
