"""The periodic purge of sessions: those that ended more than the retention period ago go with their
refresh tokens; live sessions keep every refresh token they used (reuse is still detected)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pm_auth.app import definition
from pm_auth.resources import session_purge
from pm_auth.usecases.sessions import PurgeReport, purge_once
from pm_platform.testing import running_service

from .conftest import PASSWORD, Auth, Emulator, auth_env, new_master_key, register_and_login

pytestmark = pytest.mark.integration

RETENTION = timedelta(days=30)


async def add_session(
    conn: Any,
    user_id: uuid.UUID,
    now: datetime,
    *,
    revoked_at: datetime | None = None,
    expires_at: datetime | None = None,
    tokens_used_at: tuple[datetime | None, ...] = (None,),
) -> tuple[uuid.UUID, list[bytes]]:
    """A session (created 90 days ago) with refresh tokens used at the given times (None: unused)."""
    session_id = uuid.uuid4()
    created = now - timedelta(days=90)
    await conn.execute(
        """INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, absolute_expires_at,
                                 access_expires_at, revoked_at)
           VALUES ($1, $2, $3, $3, $4, $4, $3, $5)""",
        session_id,
        user_id,
        created,
        expires_at or now + timedelta(days=10),
        revoked_at,
    )
    hashes = [secrets.token_bytes(32) for _ in tokens_used_at]
    await conn.executemany(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, used_at) VALUES ($1, $2, $3, $4)",
        [(h, session_id, created, used) for h, used in zip(hashes, tokens_used_at, strict=True)],
    )
    return session_id, hashes


async def sessions_left(auth: Auth, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return {r["id"] for r in await auth.fetch("SELECT id FROM sessions WHERE id = ANY($1::uuid[])", ids)}


async def tokens_left(auth: Auth, hashes: list[bytes]) -> set[bytes]:
    rows = await auth.fetch(
        "SELECT token_hash FROM refresh_tokens WHERE token_hash = ANY($1::bytea[])", hashes
    )
    return {bytes(r["token_hash"]) for r in rows}


async def test_sessions_that_ended_long_ago_go_with_their_tokens_the_rest_stays(auth: Auth):
    account = await register_and_login(auth)
    user_id = uuid.UUID(account.user_id)
    rotated = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert rotated.status == 200
    current_refresh = (await rotated.json())["refresh_token"]
    now = datetime.now(UTC)
    old, recent = now - RETENTION - timedelta(days=1), now - timedelta(days=1)
    async with auth.rt.pool.acquire() as conn:
        revoked_long_ago, revoked_long_ago_tokens = await add_session(
            conn, user_id, now, revoked_at=old, tokens_used_at=(old - timedelta(days=1), old, None)
        )
        expired_long_ago = [
            (await add_session(conn, user_id, now, expires_at=old - timedelta(hours=i)))[0] for i in range(5)
        ]
        revoked_recently, revoked_recently_tokens = await add_session(
            conn, user_id, now, revoked_at=recent, tokens_used_at=(recent - timedelta(days=1), None)
        )
        expired_recently, _ = await add_session(conn, user_id, now, expires_at=recent)
        # The live session of the login: the refresh tokens it used (the first one of the login among
        # them) were used "long ago" — and must stay: the session has not ended.
        old_used = secrets.token_bytes(32)
        await conn.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, used_at) VALUES ($1, $2, $3, $3)",
            old_used,
            uuid.UUID(account.session_id),
            old,
        )
        await conn.execute(
            "UPDATE refresh_tokens SET used_at = $2 WHERE session_id = $1 AND used_at IS NOT NULL",
            uuid.UUID(account.session_id),
            old,
        )

    report = await purge_once(auth.rt.pool, RETENTION, now, batch=2)  # small batches: several of each

    gone = [revoked_long_ago, *expired_long_ago]
    kept = [revoked_recently, expired_recently, uuid.UUID(account.session_id)]
    assert await sessions_left(auth, gone + kept) == set(kept)
    assert await tokens_left(auth, revoked_long_ago_tokens) == set()
    assert await tokens_left(auth, [old_used]) == {old_used}
    assert await tokens_left(auth, revoked_recently_tokens) == set(revoked_recently_tokens)
    # 6 sessions: the one revoked long ago (3 tokens) and the 5 expired long ago (1 token each).
    assert report.sessions >= len(gone) and report.refresh_tokens >= 3 + 5
    assert await purge_once(auth.rt.pool, RETENTION, now, batch=2) == PurgeReport(0, 0)  # idempotent

    # Reuse detection, however long ago the token was used: the login's first refresh token (used
    # "long ago", kept with its live session) presented again revokes the session.
    reused = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reused.status == 401 and (await reused.json())["type"].endswith("/refresh-token-reused")
    dead = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": current_refresh})
    assert dead.status == 401 and (await dead.json())["type"].endswith("/invalid-refresh-token")


async def test_the_service_purges_periodically(service_env_factory: Any, emulator: Emulator):
    assert session_purge in definition().resources
    env = await auth_env(service_env_factory, emulator.base, new_master_key())
    env |= {"SESSION_PURGE_INTERVAL_S": "0.2", "SESSION_RETENTION_DAYS": "7"}
    async with running_service(definition(), env) as (client, rt):
        register = await client.post(
            "/api/v1/auth/register", json={"email": "someone@example.com", "password": PASSWORD}
        )
        assert register.status == 201, await register.text()
        user_id = uuid.UUID((await register.json())["user"]["id"])
        now = datetime.now(UTC)
        async with rt.pool.acquire() as conn:
            ended, _ = await add_session(conn, user_id, now, revoked_at=now - timedelta(days=8))
            recent, _ = await add_session(conn, user_id, now, revoked_at=now - timedelta(days=6))
        for _ in range(100):
            async with rt.pool.acquire() as conn:
                left = {r["id"] for r in await conn.fetch("SELECT id FROM sessions")}
            if ended not in left:
                break
            await asyncio.sleep(0.1)
        assert ended not in left and recent in left
