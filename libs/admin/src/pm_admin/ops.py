"""Migration status per service, and auth's master-key rotation (auth's own command, run as is)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from pm_admin.errors import AdminError
from pm_admin.target import Target
from pm_devstack.errors import DevstackError
from pm_devstack.stack import Stack
from pm_platform.db import Migration, MigrationError, all_migrations


@dataclass(frozen=True)
class MigrationStatus:
    service: str
    schema: str
    shipped: list[str]
    applied: list[str]
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # applied, but no longer shipped (a newer release ran)


def shipped_migrations(target: Target, service: str, package: str) -> list[Migration]:
    """The platform's and the service's migration files, read from the source tree (no import of the
    service needed)."""
    directory = target.repo_root / "services" / service / "src" / package / "migrations"
    try:
        return all_migrations(service, directory)
    except MigrationError as exc:
        raise AdminError(f"{service}: {exc}") from None


def compare(service: str, schema: str, shipped: list[str], applied: list[str]) -> MigrationStatus:
    return MigrationStatus(
        service,
        schema,
        shipped,
        applied,
        pending=[key for key in shipped if key not in set(applied)],
        unknown=[key for key in applied if key not in set(shipped)],
    )


async def _applied(dsn: str, schemas: list[str]) -> dict[str, list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        found: dict[str, list[str]] = {}
        for schema in schemas:
            exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations")
            rows = (
                await conn.fetch(f'SELECT key FROM "{schema}".schema_migrations ORDER BY key')
                if exists
                else []
            )
            found[schema] = [r["key"] for r in rows]
        return found
    finally:
        await conn.close()


def migration_status(target: Target) -> list[MigrationStatus]:
    try:
        applied = asyncio.run(_applied(target.database_url, target.schemas))
    except (OSError, asyncpg.PostgresError) as exc:
        raise AdminError(f"PostgreSQL: {type(exc).__name__}: {exc}") from None
    result = []
    for spec in target.services:
        assert spec.schema is not None
        shipped = [m.key for m in shipped_migrations(target, spec.name, spec.package)]
        result.append(compare(spec.name, spec.schema, shipped, applied.get(spec.schema, [])))
    return result


def auth_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment auth's command runs with: the caller's, over the native stack's auth environment
    unless the caller brings its own DATABASE_URL (a deployed system)."""
    if environ.get("DATABASE_URL"):
        return dict(environ)
    try:
        base = Stack.from_env(environ).service_env("auth")
    except DevstackError as exc:
        raise AdminError(exc.one_line().removeprefix("error: ")) from None
    return {**base, **environ}


def rotate_master_key(environ: Mapping[str, str], dry_run: bool) -> int:
    """``python -m pm_auth rotate-master-key [--dry-run]``; its JSON report goes to stdout, its exit code
    is returned (1: rows remain under an old key)."""
    argv = [sys.executable, "-m", "pm_auth", "rotate-master-key", *(["--dry-run"] if dry_run else [])]
    try:
        return subprocess.run(argv, env=auth_environment(environ), check=False).returncode
    except OSError as exc:
        raise AdminError(f"cannot run auth's rotate-master-key: {exc.strerror}") from None
