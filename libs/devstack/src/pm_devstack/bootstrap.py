"""Database bootstrap: the ``playlistmgr`` database and, per service, a login role owning its own schema."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from pm_devstack.errors import DevstackError
from pm_devstack.procs import run_blocking


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def role_statements(database: str, schema: str, role: str, password: str, role_exists: bool) -> list[str]:
    """Idempotent DDL for one service. Passwords are re-set every time so ``.state/env`` stays the truth."""
    r, s, d, pw = quote_ident(role), quote_ident(schema), quote_ident(database), quote_literal(password)
    verb = "ALTER" if role_exists else "CREATE"
    return [
        f"{verb} ROLE {r} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {pw}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {r}",
        f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {r}",
        f"ALTER SCHEMA {s} OWNER TO {r}",
        f"ALTER ROLE {r} SET search_path = {s}",
    ]


# Nobody but each schema's owner gets in anywhere: not the public schema, not the database by default
# (each service role is granted CONNECT explicitly above).
LOCKDOWN_STATEMENTS = [
    "REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC",
]


async def _bootstrap(admin_dsn: str, database: str, roles: Mapping[str, tuple[str, str]]) -> None:
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {quote_ident(database)}")
    finally:
        await conn.close()

    conn = await asyncpg.connect(admin_dsn.rsplit("/", 1)[0] + f"/{database}", timeout=10)
    try:
        async with conn.transaction():
            await conn.execute(f"REVOKE ALL ON DATABASE {quote_ident(database)} FROM PUBLIC")
            for statement in LOCKDOWN_STATEMENTS:
                await conn.execute(statement)
            for schema, (role, password) in roles.items():
                role_exists = bool(await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))
                for statement in role_statements(database, schema, role, password, role_exists):
                    await conn.execute(statement)
    finally:
        await conn.close()


def bootstrap_database(admin_dsn: str, database: str, roles: Mapping[str, tuple[str, str]]) -> None:
    """Create ``database`` and, for each ``schema → (role, password)``, the role and its schema.

    Idempotent; safe to run on every ``up``. Blocks for well under a second on a running cluster.
    """
    try:
        run_blocking(_bootstrap(admin_dsn, database, roles))
    except asyncpg.InvalidPasswordError:
        raise DevstackError(
            "postgres",
            "the superuser password in .state/env does not match the cluster "
            "(was .state/env recreated?): remove .state/postgres to start over",
        ) from None
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DevstackError("postgres", f"bootstrap failed: {exc}") from None
