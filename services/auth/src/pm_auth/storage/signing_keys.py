"""SQL of access-token signing keys (private halves sealed by the token vault)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    """The active key(s) and keys retired after ``retired_after`` (their tokens may still be live)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1
            ORDER BY created_at DESC""",
        retired_after,
    )
    return [_row(r) for r in rows]


async def insert_key(
    conn: asyncpg.Connection, kid: str, public_key: bytes, wrapped: WrappedKey, private_key: bytes
) -> None:
    await conn.execute(
        """INSERT INTO signing_keys (kid, public_key, key_id, wrapped_key, private_key) VALUES ($1, $2, $3, $4, $5)""",
        kid,
        public_key,
        wrapped.key_id,
        wrapped.wrapped,
        private_key,
    )


async def retire_all_but(conn: asyncpg.Connection, kid: str) -> int:
    status = await conn.execute(
        "UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> $1", kid
    )
    return int(status.split()[-1])


async def lock_keys(conn: asyncpg.Connection) -> None:
    """Serialise key creation between processes (two replicas starting on an empty table)."""
    await lock_until_commit(conn, "auth.signing_keys")


async def active_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL"))
