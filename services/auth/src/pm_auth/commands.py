"""Operator commands beside the chassis ones: ``rotate-master-key [--dry-run]`` and ``rotate-signing-key``
(the rotations themselves are usecases/keys.py).

Both talk only to PostgreSQL, so they run while the service serves (see docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json

import asyncpg

from pm_auth.settings import AuthSettings, auth_settings
from pm_auth.usecases.keys import (
    NewSigningKey,
    RotationReport,
    ring_from,
    rotate_master_key,
    rotate_signing_key,
)
from pm_platform import db
from pm_platform.settings import InfraSettings

SCHEMA = "auth"  # the service definition's schema (app.py)


async def _pool(settings: AuthSettings) -> asyncpg.Pool:
    """One connection in the service's schema (the chassis' pool: search_path, UTC)."""
    return await db.create_pool(settings.database_url.get_secret_value(), SCHEMA, min_size=1, max_size=1)


async def _run_rotation(settings: AuthSettings, dry_run: bool) -> RotationReport:
    pool = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            return await rotate_master_key(conn, ring_from(settings), dry_run=dry_run)
    finally:
        await pool.close()


def rotate_master_key_command(settings: InfraSettings, argv: list[str]) -> int:
    """``rotate-master-key [--dry-run]``: prints a JSON report; exit 1 if rows remain unrotated."""
    parser = argparse.ArgumentParser(prog="python -m pm_auth rotate-master-key")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be re-wrapped")
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(_run_rotation(auth_settings(settings), args.dry_run))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"auth: rotate-master-key failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps(report.as_dict(), indent=2))
    if args.dry_run:
        return 0
    return 0 if report.remaining == 0 else 1


async def _new_signing_key(settings: AuthSettings) -> NewSigningKey:
    pool = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            return await rotate_signing_key(conn, ring_from(settings))
    finally:
        await pool.close()


def rotate_signing_key_command(settings: InfraSettings, argv: list[str]) -> int:
    """``rotate-signing-key``: a new Ed25519 key, published at once (every replica within seconds),
    signs from ``signs_from`` (ACTIVATION_DELAY later; the old key signs until then); the old ones stay
    published until every token they signed has expired. Prints {"kid", "alg", "signs_from"}."""
    argparse.ArgumentParser(prog="python -m pm_auth rotate-signing-key").parse_args(argv)
    try:
        new = asyncio.run(_new_signing_key(auth_settings(settings)))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"auth: rotate-signing-key failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps({"kid": new.key.kid, "alg": "EdDSA", "signs_from": new.signs_from.isoformat()}))
    return 0
