"""SQL of access-token signing keys (private halves sealed by the token vault)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from pm_auth.domain.vault import WrappedKey
from pm_platform.db import lock_until_commit


@dataclass(frozen=True)
class SigningKeyRow:
    kid: str
    public_key: bytes
    wrapped: WrappedKey
    private_key: bytes
    created_at: datetime
    retired_at: datetime | None


def _row(r: asyncpg.Record) -> SigningKeyRow:
    return SigningKeyRow(
        r["kid"],
        bytes(r["public_key"]),
        WrappedKey(r["key_id"], bytes(r["wrapped_key"])),
        bytes(r["private_key"]),
        r["created_at"],
        r["retired_at"],
    )


_COLUMNS = "kid, public_key, key_id, wrapped_key, private_key, created_at, retired_at"


async def published_keys(conn: asyncpg.Connection, retired_after: datetime) -> list[SigningKeyRow]:
    """Current keys and keys retired (or to retire) after ``retired_after`` (their tokens may still be
    live), newest first. With ``retired_after`` = now: exactly the keys that may sign now."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1
            ORDER BY created_at DESC""",
        retired_after,
    )
    return [_row(r) for r in rows]


async def insert_key(
    conn: asyncpg.Connection, kid: str, public_key: bytes, wrapped: WrappedKey, private_key: bytes
) -> datetime:
    """Stores a key; returns its ``created_at`` (the database's ``now()``: the transaction's start)."""
    created_at: datetime = await conn.fetchval(
        """INSERT INTO signing_keys (kid, public_key, key_id, wrapped_key, private_key)
           VALUES ($1, $2, $3, $4, $5) RETURNING created_at""",
        kid,
        public_key,
        wrapped.key_id,
        wrapped.wrapped,
        private_key,
    )
    return created_at


async def retire_all_but(conn: asyncpg.Connection, kid: str, delay: timedelta) -> datetime | None:
    """Schedules the retirement of every other current key (``retired_at IS NULL``) ``delay`` from now
    (the database's clock): they keep signing until then, while ``kid`` gets published. Keys already
    scheduled keep their earlier time. Returns when the last other key stops signing (None: none signs)."""
    await conn.execute(
        "UPDATE signing_keys SET retired_at = now() + $2::interval WHERE retired_at IS NULL AND kid <> $1",
        kid,
        delay,
    )
    until: datetime | None = await conn.fetchval(
        "SELECT max(retired_at) FROM signing_keys WHERE kid <> $1 AND retired_at > now()", kid
    )
    return until


async def lock_keys(conn: asyncpg.Connection) -> None:
    """Serialise key creation between processes (two replicas starting on an empty table)."""
    await lock_until_commit(conn, "auth.signing_keys")


async def active_count(conn: asyncpg.Connection) -> int:
    """Current keys: not scheduled to retire (``retired_at IS NULL``), whether signing already or waiting
    out the activation delay after a rotation. A key whose ``retired_at`` lies in the future still signs
    for a moment but does not count: it is on its way out, and the rotation that scheduled it inserted its
    successor (which counts) in the same transaction, so during a rotation window this is 1, not 0."""
    return int(await conn.fetchval("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL"))
