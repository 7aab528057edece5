"""Sessions: whether one is still live, the user's live ones, ending them (logout, revoking one or all
others) with a ``session.revoked`` event each, and the periodic purge of ended ones.

Live sessions are cached in Redis (storage/session_cache.py) beside their rows: a revoked one leaves a
marker there, so a gateway-vouched token of a revoked session is refused at once.

The purge: sessions that ended (revoked or expired) more than SESSION_RETENTION_DAYS ago go with their
refresh tokens. A live session keeps every refresh token it used, however old: a stolen one presented
again must still revoke the session it belongs to (reuse detection), and a session lives at most its
absolute lifetime, so its tokens go with it in the end. Deletes run in bounded batches, each its own
short transaction, skipping rows a concurrent refresh holds; every replica may run it at once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from loguru import logger

from pm_auth.errors import SessionRevoked
from pm_auth.settings import auth_settings
from pm_auth.storage import session_cache
from pm_auth.storage import sessions as sessions_sql
from pm_auth.storage.sessions import Session
from pm_contracts.sessions import RevocationReason
from pm_contracts.sessions import SessionRevoked as SessionRevokedEvent
from pm_platform.errors import NotFound
from pm_platform.identity import Identity
from pm_platform.service import Runtime

# Sessions deleted per purge transaction.
PURGE_BATCH = 500
# The first purge runs this soon after start-up (or after one interval, if shorter), then every interval.
FIRST_PURGE_AFTER_S = 60.0


def _cache_prefix(rt: Runtime) -> str:
    return rt.redis_key("session")


async def remember_session(rt: Runtime, session: Session) -> None:
    """Cache a live session (after the transaction that created or refreshed it committed)."""
    ttl_s = auth_settings(rt.settings).access_token_ttl_s
    await session_cache.put(rt.redis, _cache_prefix(rt), session, ttl_s)


async def forget_sessions(rt: Runtime, session_ids: list[uuid.UUID], *, marker: bool = True) -> None:
    """After revoking: the cache says so (``marker=False``, for an erased account: it says nothing)."""
    await session_cache.forget(rt.redis, _cache_prefix(rt), session_ids, marker=marker)


async def require_live_session(rt: Runtime, identity: Identity) -> Identity:
    """The calling user (vouched for by the gateway), whose session must still be live here."""
    live = await session_cache.is_live(rt.redis, _cache_prefix(rt), identity.session_id, identity.user_id)
    if live is None:
        async with rt.pool.acquire() as conn:
            session = await sessions_sql.get_session(conn, identity.session_id)
        live = (
            session is not None and session.user_id == identity.user_id and session.active(datetime.now(UTC))
        )
        if live and session is not None:
            await remember_session(rt, session)
    if not live:
        raise SessionRevoked("this session was revoked or has expired; log in again")
    return identity


async def revoke_and_announce(
    rt: Runtime,
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    reason: RevocationReason,
    now: datetime,
    *,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke sessions in the caller's transaction and emit ``session.revoked`` for each."""
    revoked = await sessions_sql.revoke_sessions(conn, user_id, now=now, reason=reason, only=only, keep=keep)
    for session in revoked:
        await rt.emit(
            conn,
            "session.revoked",
            str(user_id),
            SessionRevokedEvent(
                user_id=user_id,
                session_id=session.id,
                reason=reason,
                revoked_at=now,
                access_expires_at=max(session.access_expires_at, now),
            ),
        )
    return [s.id for s in revoked]


async def _revoke(
    rt: Runtime,
    user_id: uuid.UUID,
    reason: RevocationReason,
    *,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    async with rt.transaction() as conn:
        revoked = await revoke_and_announce(
            rt, conn, user_id, reason, datetime.now(UTC), only=only, keep=keep
        )
    await forget_sessions(rt, revoked)
    return revoked


async def logout(rt: Runtime, identity: Identity) -> None:
    await _revoke(rt, identity.user_id, "logout", only=identity.session_id)


async def live_sessions(rt: Runtime, user_id: uuid.UUID) -> list[Session]:
    """The user's live sessions, the most recently used first."""
    async with rt.pool.acquire() as conn:
        return await sessions_sql.active_sessions(conn, user_id, datetime.now(UTC))


async def revoke_session(rt: Runtime, identity: Identity, session_id: uuid.UUID | None) -> None:
    """End one of the user's live sessions (NotFound for anything else)."""
    if session_id is None:
        raise NotFound("no such session", code="session-not-found")
    if not await _revoke(rt, identity.user_id, "user_revoked", only=session_id):
        raise NotFound("no such live session", code="session-not-found")


async def revoke_other_sessions(rt: Runtime, identity: Identity) -> None:
    """End every live session of the user but the caller's."""
    await _revoke(rt, identity.user_id, "user_revoked", keep=identity.session_id)


@dataclass(frozen=True)
class PurgeReport:
    sessions: int
    refresh_tokens: int


async def purge_once(
    pool: asyncpg.Pool, retention: timedelta, now: datetime, *, batch: int = PURGE_BATCH
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
    await asyncio.sleep(min(interval_s, FIRST_PURGE_AFTER_S))
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
