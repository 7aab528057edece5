"""Helpers the handlers share: who is calling, issuing tokens, revoking sessions, JSON answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from pm_auth.context import AuthContext, auth_context
from pm_auth.domain.tokens import AccessClaims, new_access_claims, sign_eddsa, sign_hs256
from pm_auth.http.problems import SessionRevoked
from pm_auth.settings import AuthSettings
from pm_auth.storage import session_cache
from pm_auth.storage import sessions as sessions_sql
from pm_contracts.sessions import RevocationReason
from pm_contracts.sessions import SessionRevoked as SessionRevokedEvent
from pm_platform.identity import Identity, require_identity
from pm_platform.service import RUNTIME, Runtime


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def context(request: web.Request) -> AuthContext:
    return auth_context(runtime(request))


def settings_of(request: web.Request) -> AuthSettings:
    settings = runtime(request).settings
    assert isinstance(settings, AuthSettings)
    return settings


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store", **(headers or {})})


async def require_user(request: web.Request) -> Identity:
    """The calling user (vouched for by the gateway) whose session is still live here."""
    rt = runtime(request)
    identity = require_identity(request, rt.identities)
    prefix = context(request).session_cache_prefix(rt)
    live = await session_cache.is_live(rt.redis, prefix, identity.session_id, identity.user_id)
    if live is None:
        async with rt.pool.acquire() as conn:
            session = await sessions_sql.get_session(conn, identity.session_id)
        live = session is not None and session.user_id == identity.user_id and session.active(now_utc())
        if live and session is not None:
            await session_cache.put(rt.redis, prefix, session, context(request).settings.access_token_ttl_s)
    if not live:
        raise SessionRevoked("this session was revoked or has expired; log in again")
    return identity


async def issue_access_token(
    ctx: AuthContext, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
) -> tuple[str, AccessClaims]:
    claims = new_access_claims(user_id, session_id, now, ctx.access_ttl)
    settings = ctx.settings
    if settings.jws_alg == "HS256":
        return sign_hs256(claims, settings.issuer, settings.jwt_secret.get_secret_value()), claims
    assert ctx.signing is not None
    return sign_eddsa(claims, settings.issuer, await ctx.signing.active()), claims


def token_answer(access_token: str, claims: AccessClaims, refresh_token: str, now: datetime) -> web.Response:
    return json_answer(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int((claims.expires_at - now).total_seconds()),
            "refresh_token": refresh_token,
            "session_id": str(claims.session_id),
        }
    )


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


async def forget_sessions(
    request_or_rt: web.Request | Runtime, session_ids: list[uuid.UUID], *, marker: bool = True
) -> None:
    rt = request_or_rt if isinstance(request_or_rt, Runtime) else runtime(request_or_rt)
    await session_cache.forget(
        rt.redis, auth_context(rt).session_cache_prefix(rt), session_ids, marker=marker
    )


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
