"""Accounts and sessions of the public API: register, log in, refresh, log out, me, password, deletion,
the session list. Each handler owns its transaction; events are emitted inside it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
from aiohttp import web
from loguru import logger

from pm_auth.domain import vault
from pm_auth.domain.emails import InvalidEmail, normalise_email
from pm_auth.domain.passwords import check_policy
from pm_auth.domain.sessions import (
    ABSOLUTE_LIFETIME,
    MAX_DEVICE_NAME,
    MAX_USER_AGENT,
    RefreshState,
    RefreshVerdict,
    client_ip,
    clip,
    judge_refresh,
    session_expiry,
)
from pm_auth.domain.tokens import new_refresh_token, refresh_token_hash
from pm_auth.http.common import (
    context,
    forget_sessions,
    iso,
    issue_access_token,
    json_answer,
    now_utc,
    parse_uuid,
    require_user,
    revoke_and_announce,
    runtime,
    token_answer,
)
from pm_auth.http.models import (
    MAX_BODY_BYTES,
    ChangePasswordBody,
    LoginBody,
    PasswordBody,
    RefreshBody,
    RegisterBody,
)
from pm_auth.http.problems import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmailProblem,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionRevoked,
    WeakPassword,
    WrongPassword,
)
from pm_auth.storage import links as links_sql
from pm_auth.storage import provider_oauth, session_cache
from pm_auth.storage import sessions as sessions_sql
from pm_auth.storage import users as users_sql
from pm_contracts.users import UserDeleted, UserRegistered
from pm_platform.errors import NotFound
from pm_platform.http import read_json
from pm_platform.service import Runtime


def _email(raw: str, field: str = "email") -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail as exc:
        raise InvalidEmailProblem(
            "not a valid e-mail address", errors=[{"field": field, "message": str(exc), "type": "email"}]
        ) from None


def _policy(password: str, email: str, field: str) -> None:
    violations = check_policy(password, email)
    if violations:
        raise WeakPassword(
            "; ".join(v.message for v in violations),
            errors=[{"field": field, "message": v.message, "type": v.code} for v in violations],
        )


def _user_json(user: users_sql.User) -> dict[str, str | None]:
    return {"id": str(user.id), "email": user.email, "created_at": iso(user.created_at)}


async def register(request: web.Request) -> web.Response:
    body = await read_json(request, RegisterBody, MAX_BODY_BYTES)
    email = _email(body.email)
    _policy(body.password, email, "password")
    rt, ctx = runtime(request), context(request)
    password_hash = await asyncio.to_thread(ctx.hasher.hash, body.password)
    async with rt.transaction() as conn:
        user = await users_sql.insert_user(conn, uuid.uuid4(), email, password_hash)
        if user is None:
            raise EmailTaken("an account with this e-mail address exists")
        await rt.emit(
            conn,
            "user.registered",
            str(user.id),
            UserRegistered(user_id=user.id, registered_at=user.created_at),
        )
    return json_answer({"user": _user_json(user)}, status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginBody, MAX_BODY_BYTES)
    email = _email(body.email)
    rt, ctx = runtime(request), context(request)
    async with rt.pool.acquire() as conn:
        user = await users_sql.user_by_email(conn, email)
    # The same hash work whether or not the user exists: a failed login looks the same either way.
    ok = await asyncio.to_thread(
        ctx.hasher.verify_or_dummy, user.password_hash if user else None, body.password
    )
    if not ok or user is None:
        raise InvalidCredentials("e-mail or password is wrong")
    if ctx.hasher.needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(ctx.hasher.hash, body.password)
        async with rt.transaction() as conn:
            await users_sql.update_password_hash_if_unchanged(conn, user.id, user.password_hash, new_hash)

    now = now_utc()
    session_id = uuid.uuid4()
    access_token, claims = await issue_access_token(ctx, user.id, session_id, now)
    refresh = new_refresh_token()
    try:
        session = await _new_session(rt, request, body, user.id, session_id, refresh, claims.expires_at, now)
    except asyncpg.ForeignKeyViolationError:
        # The account was deleted while the password was being checked.
        raise InvalidCredentials("e-mail or password is wrong") from None
    await session_cache.put(rt.redis, ctx.session_cache_prefix(rt), session, ctx.settings.access_token_ttl_s)
    return token_answer(access_token, claims, refresh, now)


async def _new_session(
    rt: Runtime,
    request: web.Request,
    body: LoginBody,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    refresh: str,
    access_expires_at: datetime,
    now: datetime,
) -> sessions_sql.Session:
    async with rt.transaction() as conn:
        session = await sessions_sql.insert_session(
            conn,
            session_id=session_id,
            user_id=user_id,
            device_name=clip(body.device_name, MAX_DEVICE_NAME),
            ip=client_ip(request.headers.get("X-Forwarded-For"), request.remote),
            user_agent=clip(request.headers.get("User-Agent"), MAX_USER_AGENT),
            now=now,
            expires_at=session_expiry(now, now),
            absolute_expires_at=now + ABSOLUTE_LIFETIME,
            access_expires_at=access_expires_at,
        )
        await sessions_sql.insert_refresh_token(conn, refresh_token_hash(refresh), session_id)
    return session


async def refresh(request: web.Request) -> web.Response:
    """Rotate the refresh token. A used one presented again revokes the whole session (family)."""
    body = await read_json(request, RefreshBody, MAX_BODY_BYTES)
    rt, ctx = runtime(request), context(request)
    token_hash = refresh_token_hash(body.refresh_token)
    now = now_utc()
    reused: list[uuid.UUID] | None = None
    async with rt.transaction() as conn:
        row = await sessions_sql.lock_refresh_token(conn, token_hash)
        if row is None:
            raise InvalidRefreshToken("unknown refresh token")
        session = row.session
        verdict = judge_refresh(
            RefreshState(row.used_at is not None, session.revoked_at is not None, session.expires_at), now
        )
        if verdict is RefreshVerdict.DEAD:
            raise InvalidRefreshToken("the session has ended; log in again")
        if verdict is RefreshVerdict.REUSE:
            reused = await revoke_and_announce(
                rt, conn, session.user_id, "refresh_reuse", now, only=session.id
            )
            logger.warning("refresh token reuse on session {}: session revoked", session.id)
        else:
            access_token, claims = await issue_access_token(ctx, session.user_id, session.id, now)
            new_refresh = new_refresh_token()
            await sessions_sql.mark_refresh_used(conn, token_hash, now)
            await sessions_sql.insert_refresh_token(conn, refresh_token_hash(new_refresh), session.id)
            session = await sessions_sql.touch_session(
                conn,
                session.id,
                now=now,
                expires_at=min(session_expiry(session.created_at, now), session.absolute_expires_at),
                access_expires_at=claims.expires_at,
                ip=client_ip(request.headers.get("X-Forwarded-For"), request.remote),
                user_agent=clip(request.headers.get("User-Agent"), MAX_USER_AGENT),
            )
    if reused is not None:
        await forget_sessions(rt, reused)
        raise RefreshTokenReused("this refresh token was already used; the session is revoked, log in again")
    await session_cache.put(rt.redis, ctx.session_cache_prefix(rt), session, ctx.settings.access_token_ttl_s)
    return token_answer(access_token, claims, new_refresh, now)


async def logout(request: web.Request) -> web.Response:
    identity = await require_user(request)
    rt = runtime(request)
    async with rt.transaction() as conn:
        revoked = await revoke_and_announce(
            rt, conn, identity.user_id, "logout", now_utc(), only=identity.session_id
        )
    await forget_sessions(rt, revoked)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    identity = await require_user(request)
    async with runtime(request).pool.acquire() as conn:
        user = await users_sql.user_by_id(conn, identity.user_id)
    if user is None:
        raise SessionRevoked("the account no longer exists")
    return json_answer(_user_json(user))


async def change_password(request: web.Request) -> web.Response:
    """New password; every other session of the user is revoked."""
    identity = await require_user(request)
    body = await read_json(request, ChangePasswordBody, MAX_BODY_BYTES)
    rt, ctx = runtime(request), context(request)
    async with rt.pool.acquire() as conn:
        user = await users_sql.user_by_id(conn, identity.user_id)
    if user is None:
        raise SessionRevoked("the account no longer exists")
    if not await asyncio.to_thread(ctx.hasher.verify, user.password_hash, body.current_password):
        raise WrongPassword("the current password is wrong")
    _policy(body.new_password, user.email, "new_password")
    new_hash = await asyncio.to_thread(ctx.hasher.hash, body.new_password)
    async with rt.transaction() as conn:
        await users_sql.set_password_hash(conn, user.id, new_hash)
        revoked = await revoke_and_announce(
            rt, conn, user.id, "password_changed", now_utc(), keep=identity.session_id
        )
    await forget_sessions(rt, revoked)
    return web.Response(status=204)


async def delete_me(request: web.Request) -> web.Response:
    """Delete the account: auth's data goes now, ``user.deleted`` tells every other service."""
    identity = await require_user(request)
    body = await read_json(request, PasswordBody, MAX_BODY_BYTES)
    rt, ctx = runtime(request), context(request)
    async with rt.pool.acquire() as conn:
        user = await users_sql.user_by_id(conn, identity.user_id)
    if user is None:
        raise SessionRevoked("the account no longer exists")
    if not await asyncio.to_thread(ctx.hasher.verify, user.password_hash, body.password):
        raise WrongPassword("the password is wrong")
    now = now_utc()
    to_revoke: list[tuple[str, str]] = []
    ring = ctx.master.ring
    async with rt.transaction() as conn:
        if await users_sql.user_by_id(conn, user.id, for_update=True) is None:
            raise SessionRevoked("the account no longer exists")
        for link in await links_sql.links_of_user(conn, user.id):
            try:
                data_key = vault.unwrap(
                    ring, vault.record_name("provider_links", user.id, link.provider), link.wrapped
                )
                sealed, column = (
                    (link.refresh_token, "refresh_token")
                    if link.refresh_token
                    else (link.access_token, "access_token")
                )
                to_revoke.append((link.provider, data_key.decrypt(column, sealed)))
            except vault.VaultError as exc:
                logger.warning(
                    "cannot open the {} tokens of a deleted user to revoke them: {}", link.provider, exc
                )
        await revoke_and_announce(rt, conn, user.id, "user_deleted", now)
        session_ids = await sessions_sql.session_ids_of_user(conn, user.id)
        await users_sql.delete_user_data(conn, user.id)
        await rt.jobs.delete_for_user(conn, user.id)
        await rt.emit(conn, "user.deleted", str(user.id), UserDeleted(user_id=user.id, deleted_at=now))
    await forget_sessions(rt, session_ids, marker=False)  # erasure: no marker naming the sessions stays
    assert ctx.http is not None
    for provider, token in to_revoke:
        client = ctx.clients.get(provider)  # type: ignore[call-overload]
        if client is not None:
            await provider_oauth.revoke(ctx.http, client, token)
    return json_answer({"user_id": str(user.id), "deleted_at": iso(now)}, status=202)


async def list_sessions(request: web.Request) -> web.Response:
    identity = await require_user(request)
    async with runtime(request).pool.acquire() as conn:
        sessions = await sessions_sql.active_sessions(conn, identity.user_id, now_utc())
    return json_answer(
        {
            "sessions": [
                {
                    "id": str(s.id),
                    "device_name": s.device_name,
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                    "created_at": iso(s.created_at),
                    "last_used_at": iso(s.last_used_at),
                    "expires_at": iso(s.expires_at),
                    "current": s.id == identity.session_id,
                }
                for s in sessions
            ]
        }
    )


async def revoke_session(request: web.Request) -> web.Response:
    identity = await require_user(request)
    session_id = parse_uuid(request.match_info["session_id"])
    if session_id is None:
        raise NotFound("no such session", code="session-not-found")
    rt = runtime(request)
    async with rt.transaction() as conn:
        revoked = await revoke_and_announce(
            rt, conn, identity.user_id, "user_revoked", now_utc(), only=session_id
        )
    if not revoked:
        raise NotFound("no such live session", code="session-not-found")
    await forget_sessions(rt, revoked)
    return web.Response(status=204)


async def revoke_other_sessions(request: web.Request) -> web.Response:
    identity = await require_user(request)
    rt = runtime(request)
    async with rt.transaction() as conn:
        revoked = await revoke_and_announce(
            rt, conn, identity.user_id, "user_revoked", now_utc(), keep=identity.session_id
        )
    await forget_sessions(rt, revoked)
    return web.Response(status=204)
