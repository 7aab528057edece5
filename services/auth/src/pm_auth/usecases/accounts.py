"""Accounts: registering, logging in (a new session), refreshing a session's tokens, reading the
account, changing its password and deleting it; and what auth erases of a deleted user.

Each use case owns its transaction; events are emitted inside it.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from loguru import logger

from pm_auth.domain import vault
from pm_auth.domain.emails import InvalidEmail, normalise_email
from pm_auth.domain.passwords import check_policy
from pm_auth.domain.sessions import (
    ABSOLUTE_LIFETIME,
    MAX_DEVICE_NAME,
    ClientInfo,
    RefreshState,
    RefreshVerdict,
    clip,
    judge_refresh,
    session_expiry,
)
from pm_auth.domain.tokens import AccessClaims, new_refresh_token, refresh_token_hash
from pm_auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmailProblem,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionRevoked,
    WeakPassword,
    WrongPassword,
)
from pm_auth.resources import AUTH
from pm_auth.storage import links as links_sql
from pm_auth.storage import sessions as sessions_sql
from pm_auth.storage import users as users_sql
from pm_auth.storage.users import User
from pm_auth.usecases.access_tokens import issue_access_token
from pm_auth.usecases.links import grant_token, revoke_grant
from pm_auth.usecases.sessions import forget_sessions, remember_session, revoke_and_announce
from pm_auth.usecases.throttle import begin_password_attempt, forget_account, password_proved
from pm_contracts.users import UserDeleted, UserRegistered
from pm_platform.consumers import EventContext
from pm_platform.identity import Identity
from pm_platform.service import Runtime


@dataclass(frozen=True)
class Account:
    """An account as its owner sees it (never its password hash)."""

    id: uuid.UUID
    email: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.email, user.created_at)


@dataclass(frozen=True)
class SessionTokens:
    """What a login or a refresh hands the client."""

    access_token: str
    claims: AccessClaims
    refresh_token: str
    issued_at: datetime

    @property
    def expires_in(self) -> int:
        """Seconds the access token is valid from its issue."""
        return int((self.claims.expires_at - self.issued_at).total_seconds())


def _email(raw: str, field: str = "email") -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail as exc:
        raise InvalidEmailProblem(
            "not a valid e-mail address", errors=[{"field": field, "message": str(exc), "type": "email"}]
        ) from None


# Estimating how guessable a password is takes milliseconds of CPU (a tenth of a second at worst): off
# the event loop, on a thread of its own, so that a flood of registrations queues there, not in front of
# the hashing of logins (asyncio's default threads). It is Python, so it still shares the interpreter's
# lock with the event loop; its cost is what keeps that small.
_POLICY_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-policy")


async def _policy(password: str, email: str, field: str) -> None:
    violations = await asyncio.get_running_loop().run_in_executor(
        _POLICY_THREAD, check_policy, password, email
    )
    if violations:
        raise WeakPassword(
            "; ".join(v.message for v in violations),
            errors=[{"field": field, "message": v.message, "type": v.code} for v in violations],
        )


async def register(rt: Runtime, email: str, password: str, client: ClientInfo) -> Account:
    """A new account. Registering counts as an attempt on the e-mail's account (a taken e-mail is
    throttled like a failed login: usecases/throttle.py); the new password must meet the policy."""
    email = _email(email)
    await _policy(password, email, "password")
    attempt = await begin_password_attempt(rt, email, client.ip)
    password_hash = await asyncio.to_thread(rt[AUTH].hasher.hash, password)
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
    await password_proved(rt, attempt)
    return Account.of(user)


async def login(
    rt: Runtime, email: str, password: str, device_name: str | None, client: ClientInfo
) -> SessionTokens:
    """A new session of the account, if the password is right (and the account's attempts need not
    wait: usecases/throttle.py)."""
    email = _email(email)
    auth = rt[AUTH]
    attempt = await begin_password_attempt(rt, email, client.ip)
    async with rt.pool.acquire() as conn:
        user = await users_sql.user_by_email(conn, email)
    # The same hash work whether or not the user exists: a failed login looks the same either way.
    ok = await asyncio.to_thread(auth.hasher.verify_or_dummy, user.password_hash if user else None, password)
    if not ok or user is None:
        raise InvalidCredentials("e-mail or password is wrong")
    await password_proved(rt, attempt)
    if auth.hasher.needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(auth.hasher.hash, password)
        async with rt.transaction() as conn:
            await users_sql.update_password_hash_if_unchanged(conn, user.id, user.password_hash, new_hash)

    now = datetime.now(UTC)
    session_id = uuid.uuid4()
    access_token, claims = await issue_access_token(auth, user.id, session_id, now)
    refresh = new_refresh_token()
    try:
        async with rt.transaction() as conn:
            session = await sessions_sql.insert_session(
                conn,
                session_id=session_id,
                user_id=user.id,
                device_name=clip(device_name, MAX_DEVICE_NAME),
                ip=client.ip,
                user_agent=client.user_agent,
                now=now,
                expires_at=session_expiry(now, now),
                absolute_expires_at=now + ABSOLUTE_LIFETIME,
                access_expires_at=claims.expires_at,
            )
            await sessions_sql.insert_refresh_token(conn, refresh_token_hash(refresh), session_id)
    except asyncpg.ForeignKeyViolationError:
        # The account was deleted while the password was being checked.
        raise InvalidCredentials("e-mail or password is wrong") from None
    await remember_session(rt, session)
    return SessionTokens(access_token, claims, refresh, now)


async def refresh(rt: Runtime, refresh_token: str, client: ClientInfo) -> SessionTokens:
    """Rotate the refresh token. A used one presented again revokes the whole session (family)."""
    auth = rt[AUTH]
    token_hash = refresh_token_hash(refresh_token)
    now = datetime.now(UTC)
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
            access_token, claims = await issue_access_token(auth, session.user_id, session.id, now)
            new_refresh = new_refresh_token()
            await sessions_sql.mark_refresh_used(conn, token_hash, now)
            await sessions_sql.insert_refresh_token(conn, refresh_token_hash(new_refresh), session.id)
            session = await sessions_sql.touch_session(
                conn,
                session.id,
                now=now,
                expires_at=min(session_expiry(session.created_at, now), session.absolute_expires_at),
                access_expires_at=claims.expires_at,
                ip=client.ip,
                user_agent=client.user_agent,
            )
    if reused is not None:
        await forget_sessions(rt, reused)
        raise RefreshTokenReused("this refresh token was already used; the session is revoked, log in again")
    await remember_session(rt, session)
    return SessionTokens(access_token, claims, new_refresh, now)


async def _caller(rt: Runtime, identity: Identity) -> User:
    async with rt.pool.acquire() as conn:
        user = await users_sql.user_by_id(conn, identity.user_id)
    if user is None:
        raise SessionRevoked("the account no longer exists")
    return user


async def account(rt: Runtime, identity: Identity) -> Account:
    """The caller's account (SessionRevoked when it is gone)."""
    return Account.of(await _caller(rt, identity))


async def _check_password(rt: Runtime, user: User, password: str, client: ClientInfo, wrong: str) -> None:
    """The caller's password, checked as a login checks it: one more attempt on the account."""
    attempt = await begin_password_attempt(rt, user.email, client.ip)
    if not await asyncio.to_thread(rt[AUTH].hasher.verify, user.password_hash, password):
        raise WrongPassword(wrong)
    await password_proved(rt, attempt)


async def change_password(
    rt: Runtime, identity: Identity, current_password: str, new_password: str, client: ClientInfo
) -> None:
    """A new password; every other session of the user is revoked."""
    auth = rt[AUTH]
    user = await _caller(rt, identity)
    await _check_password(rt, user, current_password, client, "the current password is wrong")
    await _policy(new_password, user.email, "new_password")
    new_hash = await asyncio.to_thread(auth.hasher.hash, new_password)
    async with rt.transaction() as conn:
        await users_sql.set_password_hash(conn, user.id, new_hash)
        revoked = await revoke_and_announce(
            rt, conn, user.id, "password_changed", datetime.now(UTC), keep=identity.session_id
        )
    await forget_sessions(rt, revoked)


async def delete_account(rt: Runtime, identity: Identity, password: str, client: ClientInfo) -> datetime:
    """Delete the account: auth's data goes now, ``user.deleted`` tells every other service; the
    provider grants are revoked where the provider offers it. Returns when it was deleted."""
    auth = rt[AUTH]
    user = await _caller(rt, identity)
    await _check_password(rt, user, password, client, "the password is wrong")
    now = datetime.now(UTC)
    to_revoke: list[tuple[str, str]] = []
    ring = auth.master.ring
    async with rt.transaction() as conn:
        if await users_sql.user_by_id(conn, user.id, for_update=True) is None:
            raise SessionRevoked("the account no longer exists")
        for link in await links_sql.links_of_user(conn, user.id):
            try:
                to_revoke.append((link.provider, grant_token(ring, link)))
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
    await forget_account(rt, user.email)
    for provider, token in to_revoke:
        await revoke_grant(auth, provider, token)
    return now


async def erase_user_rows(ctx: EventContext, user_id: uuid.UUID) -> int:
    """Auth's rows of the user (usually gone already: the deletion request removed them)."""
    return await users_sql.delete_user_data(ctx.conn, user_id)
