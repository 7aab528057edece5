"""SQL of user accounts, and removing a user's data from the auth schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    password_hash: str
    created_at: datetime


def _user(row: asyncpg.Record | None) -> User | None:
    if row is None:
        return None
    return User(row["id"], row["email"], row["password_hash"], row["created_at"])


async def insert_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, email: str, password_hash: str
) -> User | None:
    """The new user, or None when the e-mail is taken."""
    row = await conn.fetchrow(
        """INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)
           ON CONFLICT (email) DO NOTHING RETURNING id, email, password_hash, created_at""",
        user_id,
        email,
        password_hash,
    )
    return _user(row)


async def user_by_email(conn: asyncpg.Connection, email: str) -> User | None:
    return _user(
        await conn.fetchrow("SELECT id, email, password_hash, created_at FROM users WHERE email = $1", email)
    )


async def user_by_id(
    conn: asyncpg.Connection, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    lock = " FOR UPDATE" if for_update else ""
    return _user(
        await conn.fetchrow(
            f"SELECT id, email, password_hash, created_at FROM users WHERE id = $1{lock}", user_id
        )
    )


async def set_password_hash(conn: asyncpg.Connection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


async def update_password_hash_if_unchanged(
    conn: asyncpg.Connection, user_id: uuid.UUID, old_hash: str, new_hash: str
) -> None:
    """Upgrade a hash made with older parameters (no-op if the password changed meanwhile)."""
    await conn.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        user_id,
        old_hash,
        new_hash,
    )


async def delete_user_data(conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
    """Remove every row of this schema that belongs to the user; returns how many were removed.

    Idempotent. Sessions, refresh tokens, OAuth attempts and provider links go with the user row
    (ON DELETE CASCADE); they are deleted explicitly too so a partial state is cleaned as well.
    """
    removed = 0
    for sql in (
        "DELETE FROM provider_links WHERE user_id = $1",
        "DELETE FROM oauth_attempts WHERE user_id = $1",
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ):
        status = await conn.execute(sql, user_id)
        removed += int(status.split()[-1])
    return removed
