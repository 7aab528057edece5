"""PostgreSQL: the connection pool and forward-only versioned SQL migrations.

Each service owns one schema and connects as a role that can touch only that schema. Migrations are
plain SQL files ``NNNN_name.sql``; the platform's own tables (outbox, inbox, jobs) come first, then the
service's. They are applied in order, each in its own transaction, under an advisory lock, so two
replicas starting at once apply each file exactly once. Applied files are recorded with a checksum; an
applied file that later changes stops start-up (migrations are forward-only: add a new file instead).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
from loguru import logger

PLATFORM_MIGRATIONS = resources.files("pm_platform") / "migrations"
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The migrations on disk do not fit what the database recorded."""


@dataclass(frozen=True)
class Migration:
    source: str  # "platform" or the service name
    version: int
    name: str
    sql: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.version:04d}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_migrations(source: str, directory: Path | resources.abc.Traversable) -> list[Migration]:
    found: list[Migration] = []
    if not directory.is_dir():
        return found
    for entry in directory.iterdir():
        match = _FILENAME.match(entry.name)
        if not match:
            continue
        found.append(Migration(source, int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{source}: two migrations share a version number")
    return found


def all_migrations(service: str, service_dir: Path | resources.abc.Traversable) -> list[Migration]:
    return read_migrations("platform", PLATFORM_MIGRATIONS) + read_migrations(service, service_dir)


def from_json_column(value: Any) -> Any:
    """A json or jsonb column's value, decoded. asyncpg hands these over as text (no codec is set: every
    service writes JSON text with ``$n::jsonb``); NULL stays None."""
    return json.loads(value) if isinstance(value, str) else value


def _lock_id(schema: str) -> int:
    # A stable signed 64-bit number per schema for pg_advisory_lock.
    return int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)


async def lock_until_commit(conn: asyncpg.Connection, name: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock called ``name``: writers of
    one name are serialised (the outbox's per-aggregate order, one job of a kind per user)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing; returns the keys applied now. Safe to run from several replicas at once."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _lock_id(schema))
    try:
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                   key text PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f"SELECT key, checksum FROM {schema}.schema_migrations")
        recorded = {r["key"]: r["checksum"] for r in rows}
        for migration in migrations:
            if migration.key in recorded:
                if recorded[migration.key] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.key}_{migration.name} changed after it was applied; "
                        "migrations are forward-only: add a new file"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path = {schema}")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (key, name, checksum) VALUES ($1, $2, $3)",
                    migration.key,
                    migration.name,
                    migration.checksum,
                )
            logger.info("applied migration {} ({})", migration.key, migration.name)
            applied_now.append(migration.key)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _lock_id(schema))
    return applied_now


async def _no_session_state(_: asyncpg.Connection) -> None:
    """What releasing a connection to the pool sends the server: nothing.

    asyncpg rolls back an open transaction and drops listener callbacks itself; its default reset
    also sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — one more round
    trip on every request and every consumed event. Our connections carry no session state to undo:
    settings are ``SET LOCAL`` or connection parameters, advisory locks are transaction-scoped, no
    cursor outlives its transaction; the one exception, the outbox relay's leader connection (a session
    advisory lock and a LISTEN), undoes both itself or is closed (pm_platform.outbox).
    """


async def create_pool(dsn: str, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections use the service's schema and UTC."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "timezone": "UTC", "application_name": schema},
        command_timeout=30,
        reset=_no_session_state,
    )
    assert pool is not None
    return pool
