"""Keys: the master-key ring a running auth holds (reloadable without a restart), the access-token
signing keys (from the schema, cached for a few seconds), and the operator's rotations of both
(``python -m pm_auth rotate-master-key | rotate-signing-key``, commands.py).

Zero-downtime master-key rotation with one instance: the operator writes the new key files
(``MASTER_KEY_FILE`` = new, ``MASTER_KEY_PREVIOUS_FILE`` = old) and sends SIGHUP (or waits for the file
watcher, which watches the files the settings name); the ring is re-read through the settings class
(:class:`~pm_auth.settings.MasterKeySettings`: the variables or their ``_FILE`` secrets), new records
are sealed with the new key and old ones still open; then ``python -m pm_auth rotate-master-key``
re-wraps the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from loguru import logger

from pm_auth.domain import vault
from pm_auth.domain.tokens import SigningKey
from pm_auth.domain.vault import KeyRing, MasterKey
from pm_auth.settings import MasterKeySettings
from pm_auth.storage import rotation as rotation_sql
from pm_auth.storage import signing_keys as keys_sql
from pm_platform.settings import SettingsError, load_settings
from pm_platform.tasks import cancel_and_wait

SIGNING_CACHE_S = 10.0
# Retired signing keys stay in the JWKS this long after retirement: every token they signed has expired.
JWKS_GRACE = timedelta(minutes=5)
# Master-key rotation: rows re-wrapped per transaction, and passes over a table at most.
BATCH = 200
MAX_PASSES = 10


def ring_from(settings: MasterKeySettings) -> KeyRing:
    previous = settings.master_key_previous
    return KeyRing(
        MasterKey.from_base64(settings.master_key.get_secret_value()),
        MasterKey.from_base64(previous.get_secret_value()) if previous is not None else None,
    )


RingCheck = Callable[[KeyRing], Awaitable[list[str]]]


class MasterKeys:
    """The live key ring. :meth:`reload` swaps it atomically; readers take ``ring`` once per operation.

    A new ring is taken only if ``check`` (when given) finds nothing wrong with it: it must open the
    active signing key and hold every master key that still wraps a row. Otherwise the old ring stays,
    the error is logged and shown in ``/health`` (``checks.keys.reload_error``) until a good reload.
    """

    def __init__(self, ring: KeyRing, check: RingCheck | None = None) -> None:
        self.ring = ring
        self.check = check
        self.reloaded_at = time.time()
        self.reload_error: str | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    async def reload(self) -> bool:
        """Re-read MASTER_KEY(_FILE) and MASTER_KEY_PREVIOUS(_FILE). Keeps the old ring on any error."""
        try:
            fresh = ring_from(load_settings(MasterKeySettings))
        except (SettingsError, ValueError) as exc:
            self.reload_error = f"unreadable master keys: {exc}"
            logger.error("master keys not reloaded, keeping the current ones: {}", exc)
            return False
        if self.check is not None:
            try:
                problems = await self.check(fresh)
            except Exception as exc:  # noqa: BLE001 - cannot verify: do not risk the swap
                problems = [f"cannot verify the new keys ({type(exc).__name__}: {exc})"]
            if problems:
                self.reload_error = "; ".join(problems)[:1000]
                logger.error(
                    "master keys not reloaded, keeping current {} / previous {}: {}",
                    self.ring.current.key_id,
                    self.ring.previous.key_id if self.ring.previous else "none",
                    self.reload_error,
                )
                return False
        changed = fresh.key_ids != self.ring.key_ids
        self.ring = fresh
        self.reloaded_at = time.time()
        self.reload_error = None
        logger.info(
            "master keys {}: current {}, previous {}",
            "reloaded" if changed else "re-read (unchanged)",
            fresh.current.key_id,
            fresh.previous.key_id if fresh.previous else "none",
        )
        return changed

    def reload_soon(self) -> None:
        """For the SIGHUP handler (synchronous): reload in a task."""
        task = asyncio.get_running_loop().create_task(self.reload(), name="master-key-reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def describe(self) -> dict[str, str | None]:
        previous = self.ring.previous
        return {
            "current_key_id": self.ring.current.key_id,
            "previous_key_id": previous.key_id if previous else None,
            "reload_error": self.reload_error,
        }


def ring_checker(pool: asyncpg.Pool, *, eddsa: bool) -> RingCheck:
    """What a candidate ring must satisfy before it replaces the live one."""

    async def check(ring: KeyRing) -> list[str]:
        problems: list[str] = []
        async with pool.acquire(timeout=5) as conn:
            for table in rotation_sql.SEALED_TABLES:
                for key_id, n in sorted((await rotation_sql.count_by_key(conn, table)).items()):
                    if key_id not in ring.key_ids:
                        problems.append(
                            f"{n} {table.table} row(s) are under master key {key_id}, which the new keys "
                            "do not include (set it as MASTER_KEY_PREVIOUS until rotate-master-key is done)"
                        )
            if eddsa:
                rows = await keys_sql.published_keys(conn, datetime.now(UTC))
                active = next((r for r in rows if r.retired_at is None), None)
                if active is not None:
                    try:
                        open_signing_key(ring, active)
                    except vault.VaultError as exc:
                        problems.append(
                            f"the new keys cannot open the active signing key {active.kid}: {exc}"
                        )
        return problems

    return check


def _fingerprint(paths: list[str]) -> tuple[tuple[str, float, int], ...]:
    marks = []
    for path in paths:
        try:
            st = os.stat(path)
            marks.append((path, st.st_mtime, st.st_size))
        except OSError:
            marks.append((path, -1.0, -1))
    return tuple(marks)


async def watch_master_keys(keys: MasterKeys, interval_s: float, files: list[str]) -> AsyncIterator[None]:
    """Reload on SIGHUP and, every ``interval_s``, when one of ``files`` (the key files the settings
    name, ``MasterKeySettings.master_key_files``) changed. A resource context."""
    loop = asyncio.get_running_loop()
    sighup_installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        # Only the main thread of a process may install it (not the case in some test runners).
        loop.add_signal_handler(signal.SIGHUP, keys.reload_soon)
        sighup_installed = True

    paths = list(files)

    async def poll() -> None:
        seen = _fingerprint(paths)
        while True:
            await asyncio.sleep(interval_s)
            now = _fingerprint(paths)
            if now != seen:
                seen = now
                await keys.reload()

    task = asyncio.create_task(poll(), name="master-key-watch") if interval_s > 0 and paths else None
    try:
        yield
    finally:
        await cancel_and_wait(task)
        if sighup_installed:
            loop.remove_signal_handler(signal.SIGHUP)


def open_signing_key(ring: KeyRing, row: keys_sql.SigningKeyRow) -> SigningKey:
    data_key = vault.unwrap(ring, vault.record_name("signing_keys", row.kid), row.wrapped)
    private = bytes.fromhex(data_key.decrypt("private_key", row.private_key))
    return SigningKey(row.kid, row.public_key, private)


async def create_signing_key(conn: asyncpg.Connection, ring: KeyRing, *, retire_others: bool) -> SigningKey:
    """A new Ed25519 key, sealed under the current master key; optionally retires the others."""
    key = SigningKey.generate()
    assert key.private is not None
    data_key, wrapped = vault.new_data_key(ring, vault.record_name("signing_keys", key.kid))
    await keys_sql.insert_key(
        conn, key.kid, key.public, wrapped, data_key.encrypt("private_key", key.private.hex())
    )
    if retire_others:
        await keys_sql.retire_all_but(conn, key.kid)
    return key


async def rotate_signing_key(conn: asyncpg.Connection, ring: KeyRing) -> SigningKey:
    """A new key signs from now on; the others are retired (published until their tokens expired).
    Serialised with :meth:`SigningKeys.ensure_one` of any replica."""
    async with conn.transaction():
        await keys_sql.lock_keys(conn)
        return await create_signing_key(conn, ring, retire_others=True)


class SigningKeys:
    """The newest active key signs; published keys include recently retired ones. Cached briefly, so a
    key rotated by the CLI is picked up within ``SIGNING_CACHE_S`` without a restart."""

    def __init__(self, pool: asyncpg.Pool, master: MasterKeys, access_ttl: timedelta) -> None:
        self._pool = pool
        self._master = master
        self._access_ttl = access_ttl
        self._loaded_at = 0.0
        self._active: SigningKey | None = None
        self._published: list[SigningKey] = []
        self._lock = asyncio.Lock()

    async def ensure_one(self) -> None:
        """At start-up: create the first key if the schema has none (serialised between replicas)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await keys_sql.lock_keys(conn)
            if await keys_sql.active_count(conn) == 0:
                key = await create_signing_key(conn, self._master.ring, retire_others=False)
                logger.info("created the first access-token signing key {}", key.kid)

    async def _load(self) -> None:
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn:
            rows = await keys_sql.published_keys(conn, now - self._access_ttl - JWKS_GRACE)
        published: list[SigningKey] = []
        active: SigningKey | None = None
        for row in rows:
            if row.retired_at is None and active is None:
                active = open_signing_key(self._master.ring, row)
                published.append(active)
            else:
                published.append(SigningKey(row.kid, row.public_key))
        self._active, self._published = active, published
        self._loaded_at = time.monotonic()

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at < SIGNING_CACHE_S and self._active is not None:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= SIGNING_CACHE_S or self._active is None:
                await self._load()

    async def active(self) -> SigningKey:
        await self._fresh()
        if self._active is None:
            await self.ensure_one()
            await self._load()
        assert self._active is not None
        return self._active

    async def published(self) -> list[SigningKey]:
        await self._fresh()
        return list(self._published)

    def invalidate(self) -> None:
        self._loaded_at = 0.0


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


async def _census(conn: asyncpg.Connection, ring: KeyRing, table: rotation_sql.SealedTable) -> TableReport:
    counts = await rotation_sql.count_by_key(conn, table)
    report = TableReport(total=sum(counts.values()))
    for key_id, n in counts.items():
        if key_id == ring.current.key_id:
            report.under_current += n
        elif ring.previous is not None and key_id == ring.previous.key_id:
            report.under_previous += n
        else:
            report.under_unknown += n
    return report


async def rotate_master_key(conn: asyncpg.Connection, ring: KeyRing, *, dry_run: bool) -> RotationReport:
    """Re-wrap every data key not under the current master key. Idempotent; online (short row locks).

    A dry run only counts. Rows under a key that is neither current nor previous are reported and left
    alone (they cannot be opened). Rows locked by a concurrent token refresh are retried in later passes.
    """
    report = RotationReport(ring.current.key_id, ring.previous.key_id if ring.previous else None, dry_run)
    for table in rotation_sql.SEALED_TABLES:
        before = await _census(conn, ring, table)
        if not dry_run and ring.previous is not None:
            for _ in range(MAX_PASSES):
                moved = 0
                cursor = None  # keyset paging: rows that fail are passed over, so every pass ends
                before.failed = 0  # counted afresh by each pass (the last one is reported)
                while True:
                    async with conn.transaction():
                        rows = await rotation_sql.lock_batch(
                            conn, table, [ring.previous.key_id], BATCH, cursor
                        )
                        if rows:
                            cursor = rotation_sql.primary_key(table, rows[-1])
                        for row in rows:
                            old = vault.WrappedKey(row["key_id"], bytes(row["wrapped_key"]))
                            try:
                                new = vault.rewrap(ring, table.record(row), old)
                            except vault.VaultError:
                                before.failed += 1
                                continue
                            if await rotation_sql.store_rewrapped(conn, table, row, new):
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
