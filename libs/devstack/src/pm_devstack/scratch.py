"""Throwaway databases on the stack's PostgreSQL: one service's role and schema in a database of its
own, for the integration tests (never the stack's data) and for commands that fill a database to
check it (`python -m pm_devstack scratch <service> -- <command>`: `make explain-checks`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from pm_devstack.bootstrap import bootstrap_database
from pm_devstack.config import HOST
from pm_devstack.procs import run_blocking
from pm_devstack.stack import Stack


def create_scratch_database(stack: Stack, schema: str, prefix: str = "pm_test") -> tuple[str, str]:
    """A new database with the role and schema of ``schema``'s service: (its name, that role's DSN)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    role, password = f"pm_{schema}", stack.secrets.role_password(schema)
    bootstrap_database(stack.admin_dsn(), name, {schema: (role, password)})
    return name, f"postgresql://{role}:{password}@{HOST}:{stack.config.pg_port}/{name}"


async def drop_databases(admin_dsn: str, names: Iterable[str]) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run_on_scratch_database(stack: Stack, service: str, command: Sequence[str]) -> int:
    """``python -m <service's package> <command>`` with the service's environment on a throwaway
    database (migrated first), dropped afterwards whatever happens; the command's exit code."""
    spec = stack.spec(service)
    if spec.schema is None:
        raise SystemExit(f"scratch: {service} has no database schema")
    name, dsn = create_scratch_database(stack, spec.schema, prefix="pm_scratch")
    env = {**os.environ, **stack.service_env(service), "DATABASE_URL": dsn}
    try:
        subprocess.run([sys.executable, "-m", spec.package, "migrate"], env=env, check=True)
        return subprocess.run([sys.executable, "-m", spec.package, *command], env=env, check=False).returncode
    finally:
        run_blocking(drop_databases(stack.admin_dsn(), [name]))
