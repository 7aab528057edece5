"""SQL of sessions and refresh tokens (only SHA-256 hashes of refresh tokens are stored)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    user_id: uuid.UUID
    device_name: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    absolute_expires_at: datetime
    access_expires_at: datetime
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


_COLUMNS = """s.id, s.user_id, s.device_name, s.ip, s.user_agent, s.created_at, s.last_used_at, s.expires_at,
              s.absolute_expires_at, s.access_expires_at, s.revoked_at"""


def _session(row: asyncpg.Record) -> Session:
    return Session(
        row["id"],
        row["user_id"],
        row["device_name"],
        row["ip"],
        row["user_agent"],
        row["created_at"],
        row["last_used_at"],
        row["expires_at"],
        row["absolute_expires_at"],
        row["access_expires_at"],
        row["revoked_at"],
    )


async def insert_session(
    conn: asyncpg.Connection,
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    device_name: str | None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    expires_at: datetime,
    absolute_expires_at: datetime,
    access_expires_at: datetime,
) -> Session:
    row = await conn.fetchrow(
        f"""INSERT INTO sessions AS s (id, user_id, device_name, ip, user_agent, created_at, last_used_at,
                                   expires_at, absolute_expires_at, access_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING {_COLUMNS}""",
        session_id,
        user_id,
        device_name,
        ip,
        user_agent,
        now,
        expires_at,
        absolute_expires_at,
        access_expires_at,
    )
    assert row is not None
    return _session(row)


async def insert_refresh_token(conn: asyncpg.Connection, token_hash: bytes, session_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)", token_hash, session_id
    )


@dataclass(frozen=True)
class RefreshRow:
    session: Session
    used_at: datetime | None


async def lock_refresh_token(conn: asyncpg.Connection, token_hash: bytes) -> RefreshRow | None:
    """The token and its session, both locked until the transaction ends (so one rotation wins)."""
    row = await conn.fetchrow(
        f"""SELECT rt.used_at, {_COLUMNS} FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
            WHERE rt.token_hash = $1 FOR UPDATE OF rt, s""",
        token_hash,
    )
    if row is None:
        return None
    return RefreshRow(_session(row), row["used_at"])


async def mark_refresh_used(conn: asyncpg.Connection, token_hash: bytes, now: datetime) -> None:
    await conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", token_hash, now)


async def touch_session(
    conn: asyncpg.Connection,
    session_id: uuid.UUID,
    *,
    now: datetime,
    expires_at: datetime,
    access_expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> Session:
    row = await conn.fetchrow(
        f"""UPDATE sessions AS s SET last_used_at = $2, expires_at = $3,
                   access_expires_at = greatest(access_expires_at, $4),
                   ip = coalesce($5, ip), user_agent = coalesce($6, user_agent)
            WHERE id = $1 RETURNING {_COLUMNS}""",
        session_id,
        now,
        expires_at,
        access_expires_at,
        ip,
        user_agent,
    )
    assert row is not None
    return _session(row)


async def get_session(conn: asyncpg.Connection, session_id: uuid.UUID) -> Session | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM sessions s WHERE s.id = $1", session_id)
    return _session(row) if row else None


async def active_sessions(conn: asyncpg.Connection, user_id: uuid.UUID, now: datetime) -> list[Session]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM sessions s
            WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
            ORDER BY s.last_used_at DESC""",
        user_id,
        now,
    )
    return [_session(r) for r in rows]


async def revoke_sessions(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    *,
    now: datetime,
    reason: str,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[Session]:
    """Revoke the user's live sessions (one with ``only``, all but ``keep`` with ``keep``); returns them."""
    rows = await conn.fetch(
        f"""UPDATE sessions AS s SET revoked_at = $2, revoked_reason = $3
            WHERE s.user_id = $1 AND s.revoked_at IS NULL
              AND ($4::uuid IS NULL OR s.id = $4) AND ($5::uuid IS NULL OR s.id <> $5)
            RETURNING {_COLUMNS}""",
        user_id,
        now,
        reason,
        only,
        keep,
    )
    return [_session(r) for r in rows]


async def session_ids_of_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM sessions WHERE user_id = $1", user_id)]


async def delete_ended_sessions(
    conn: asyncpg.Connection, ended_before: datetime, limit: int
) -> tuple[int, int]:
    """Delete up to ``limit`` sessions revoked or expired before ``ended_before``, with all their refresh
    tokens; returns how many sessions and tokens went. Sessions a concurrent refresh holds are skipped
    (the next batch or pass takes them)."""
    row = await conn.fetchrow(
        """WITH ended AS (
               SELECT id FROM sessions WHERE least(revoked_at, expires_at) < $1
               LIMIT $2 FOR UPDATE SKIP LOCKED),
           tokens AS (DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM ended) RETURNING 1),
           gone AS (DELETE FROM sessions WHERE id IN (SELECT id FROM ended) RETURNING 1)
           SELECT (SELECT count(*) FROM gone) AS sessions, (SELECT count(*) FROM tokens) AS tokens""",
        ended_before,
        limit,
    )
    assert row is not None
    return int(row["sessions"]), int(row["tokens"])
