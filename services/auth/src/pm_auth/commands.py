"""Operator commands beside the chassis ones: ``rotate-master-key [--dry-run]`` and ``rotate-signing-key``.

Both talk only to PostgreSQL, so they run while the service serves (see docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict, dataclass, field

import asyncpg

from pm_auth import keys
from pm_auth.domain import vault
from pm_auth.settings import AuthSettings
from pm_auth.storage import rotation as sql
from pm_auth.storage.signing_keys import lock_keys
from pm_platform import db
from pm_platform.settings import InfraSettings

SCHEMA = "auth"  # the service definition's schema (app.py)
BATCH = 200
MAX_PASSES = 10


@dataclass
class TableReport:
    total: int = 0
    under_current: int = 0
    under_previous: int = 0
    under_unknown: int = 0
    rewrapped: int = 0
    failed: int = 0


@dataclass
class RotationReport:
    current_key_id: str
    previous_key_id: str | None
    dry_run: bool
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Rows still not under the current key (after a real run: 0 when rotation is complete)."""
        return sum(t.under_previous + t.under_unknown for t in self.tables.values())

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "remaining": self.remaining}


async def _census(conn: asyncpg.Connection, ring: vault.KeyRing, table: sql.SealedTable) -> TableReport:
    counts = await sql.count_by_key(conn, table)
    report = TableReport(total=sum(counts.values()))
    for key_id, n in counts.items():
        if key_id == ring.current.key_id:
            report.under_current += n
        elif ring.previous is not None and key_id == ring.previous.key_id:
            report.under_previous += n
        else:
            report.under_unknown += n
    return report


async def rotate_master_key(
    conn: asyncpg.Connection, ring: vault.KeyRing, *, dry_run: bool
) -> RotationReport:
    """Re-wrap every data key not under the current master key. Idempotent; online (short row locks).

    A dry run only counts. Rows under a key that is neither current nor previous are reported and left
    alone (they cannot be opened). Rows locked by a concurrent token refresh are retried in later passes.
    """
    report = RotationReport(ring.current.key_id, ring.previous.key_id if ring.previous else None, dry_run)
    for table in sql.SEALED_TABLES:
        before = await _census(conn, ring, table)
        if not dry_run and ring.previous is not None:
            for _ in range(MAX_PASSES):
                moved = 0
                cursor = None  # keyset paging: rows that fail are passed over, so every pass ends
                before.failed = 0  # counted afresh by each pass (the last one is reported)
                while True:
                    async with conn.transaction():
                        rows = await sql.lock_batch(conn, table, [ring.previous.key_id], BATCH, cursor)
                        if rows:
                            cursor = sql.primary_key(table, rows[-1])
                        for row in rows:
                            old = vault.WrappedKey(row["key_id"], bytes(row["wrapped_key"]))
                            try:
                                new = vault.rewrap(ring, table.record(row), old)
                            except vault.VaultError:
                                before.failed += 1
                                continue
                            if await sql.store_rewrapped(conn, table, row, new):
                                moved += 1
                    if len(rows) < BATCH:
                        break
                before.rewrapped += moved
                if (await _census(conn, ring, table)).under_previous == 0 or moved == 0:
                    break
            after = await _census(conn, ring, table)
            before.under_current, before.under_previous, before.under_unknown = (
                after.under_current,
                after.under_previous,
                after.under_unknown,
            )
            before.total = after.total
        report.tables[table.table] = before
    return report


async def _pool(settings: AuthSettings) -> asyncpg.Pool:
    """One connection in the service's schema (the chassis' pool: search_path, UTC)."""
    return await db.create_pool(settings.database_url.get_secret_value(), SCHEMA, min_size=1, max_size=1)


async def _run_rotation(settings: AuthSettings, dry_run: bool) -> RotationReport:
    pool = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            return await rotate_master_key(conn, keys.ring_from(settings), dry_run=dry_run)
    finally:
        await pool.close()


def rotate_master_key_command(settings: InfraSettings, argv: list[str]) -> int:
    """``rotate-master-key [--dry-run]``: prints a JSON report; exit 1 if rows remain unrotated."""
    assert isinstance(settings, AuthSettings)
    parser = argparse.ArgumentParser(prog="python -m pm_auth rotate-master-key")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be re-wrapped")
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(_run_rotation(settings, args.dry_run))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"auth: rotate-master-key failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps(report.as_dict(), indent=2))
    if args.dry_run:
        return 0
    return 0 if report.remaining == 0 else 1


async def _new_signing_key(settings: AuthSettings) -> str:
    pool = await _pool(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await lock_keys(conn)
            key = await keys.create_signing_key(conn, keys.ring_from(settings), retire_others=True)
        return key.kid
    finally:
        await pool.close()


def rotate_signing_key_command(settings: InfraSettings, argv: list[str]) -> int:
    """``rotate-signing-key``: a new Ed25519 key signs from now on; the old ones stay published until
    every token they signed has expired. The running service picks it up within seconds."""
    assert isinstance(settings, AuthSettings)
    argparse.ArgumentParser(prog="python -m pm_auth rotate-signing-key").parse_args(argv)
    try:
        kid = asyncio.run(_new_signing_key(settings))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"auth: rotate-signing-key failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps({"kid": kid, "alg": "EdDSA"}))
    return 0
