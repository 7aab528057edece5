"""Keys: the master-key ring a running auth holds (reloadable without a restart), the access-token
signing keys (from the schema, cached for a few seconds), and the operator's rotations of both
(``python -m pm_auth rotate-master-key | rotate-signing-key``, commands.py).

Zero-downtime master-key rotation with one instance: the operator writes the new key files
(``MASTER_KEY_FILE`` = new, ``MASTER_KEY_PREVIOUS_FILE`` = old) and sends SIGHUP (or waits for the file
watcher, which watches the files the settings name: the chassis's ``rt.reloads``, pm_platform.reloading,
to which resources.py registers :meth:`MasterKeys.reload`); the ring is re-read through the settings class
(:class:`~pm_auth.settings.MasterKeySettings`: the variables or their ``_FILE`` secrets), new records
are sealed with the new key and old ones still open; then ``python -m pm_auth rotate-master-key``
re-wraps the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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

SIGNING_CACHE_S = 10.0
# Publish before use: a rotated-in key is in the JWKS at once but signs only this long after its
# creation (the keys it replaces sign until then). Every replica caches its JWKS for at most
# SIGNING_CACHE_S, so by then each one publishes the new key, and a gateway meeting the new kid finds it
# whichever replica it asks. Twice the cache period: a margin for clock skew between auth and PostgreSQL.
ACTIVATION_DELAY = timedelta(seconds=2 * SIGNING_CACHE_S)
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
                # Every key that may sign: the active one, and during a rotation window both the one
                # about to retire and its successor (retired_at in the future, resp. NULL).
                for row in await keys_sql.published_keys(conn, datetime.now(UTC)):
                    try:
                        open_signing_key(ring, row)
                    except vault.VaultError as exc:
                        problems.append(f"the new keys cannot open the active signing key {row.kid}: {exc}")
        return problems

    return check


def open_signing_key(ring: KeyRing, row: keys_sql.SigningKeyRow) -> SigningKey:
    data_key = vault.unwrap(ring, vault.record_name("signing_keys", row.kid), row.wrapped)
    private = bytes.fromhex(data_key.decrypt("private_key", row.private_key))
    return SigningKey(row.kid, row.public_key, private)


@dataclass(frozen=True)
class NewSigningKey:
    key: SigningKey
    # When it starts signing (the database's clock): at once when no other key signs (the first key),
    # else when the keys it replaces retire, ACTIVATION_DELAY after its creation.
    signs_from: datetime


async def create_signing_key(
    conn: asyncpg.Connection, ring: KeyRing, *, retire_others: bool, delay: timedelta = ACTIVATION_DELAY
) -> NewSigningKey:
    """A new Ed25519 key, sealed under the current master key, published at once. Optionally schedules
    the others' retirement ``delay`` from now: they sign until then, then the new key does (publish
    before use). Without ``retire_others`` it is meant to be the only key (the first one)."""
    key = SigningKey.generate()
    assert key.private is not None
    data_key, wrapped = vault.new_data_key(ring, vault.record_name("signing_keys", key.kid))
    created_at = await keys_sql.insert_key(
        conn, key.kid, key.public, wrapped, data_key.encrypt("private_key", key.private.hex())
    )
    others_until = await keys_sql.retire_all_but(conn, key.kid, delay) if retire_others else None
    return NewSigningKey(key, max(created_at, others_until) if others_until is not None else created_at)


async def rotate_signing_key(conn: asyncpg.Connection, ring: KeyRing) -> NewSigningKey:
    """A new key, published at once, signs ACTIVATION_DELAY later; the others sign until then and stay
    published until their tokens expired. Serialised with :meth:`SigningKeys.ensure_one` of any replica."""
    async with conn.transaction():
        await keys_sql.lock_keys(conn)
        return await create_signing_key(conn, ring, retire_others=True)


def choose_active(
    rows: list[keys_sql.SigningKeyRow], now: datetime, delay: timedelta = ACTIVATION_DELAY
) -> keys_sql.SigningKeyRow | None:
    """The key that signs at ``now``: among the keys still able to (not retired, or retiring later), the
    newest created at least ``delay`` ago, so that every replica has published it; if none is that old
    (the very first key, created at start-up), the oldest of them. None when no key may sign.

    ``created_at``/``retired_at`` come from PostgreSQL's clock, ``now`` from this process's: both
    comparisons use the same ``now``, so the hand-over from the retiring key to its successor has neither
    gap nor overlap here; a skewed clock only shifts it (ACTIVATION_DELAY leaves SIGNING_CACHE_S of margin).
    """
    signing = [r for r in rows if r.retired_at is None or r.retired_at > now]
    ready = [r for r in signing if r.created_at <= now - delay]
    if ready:
        return max(ready, key=lambda r: r.created_at)
    return min(signing, key=lambda r: r.created_at, default=None)


def next_switch(
    rows: list[keys_sql.SigningKeyRow], now: datetime, delay: timedelta = ACTIVATION_DELAY
) -> datetime | None:
    """The next moment after ``now`` when :func:`choose_active` may choose another of ``rows`` (a key
    retires or comes of age): a cache reloads then, so a rotated-in key signs at its ``signs_from``."""
    times = [
        t
        for r in rows
        if r.retired_at is None or r.retired_at > now
        for t in (r.retired_at, r.created_at + delay)
        if t is not None and t > now
    ]
    return min(times, default=None)


class SigningKeys:
    """The active key signs (:func:`choose_active`: a rotated-in key only ``activation_delay`` after its
    creation); published keys are every key not retired before the access-token lifetime plus
    ``JWKS_GRACE`` ago, a rotated-in key from its creation on. Cached briefly, so a key rotated by the
    CLI is published within ``SIGNING_CACHE_S`` without a restart; it signs ``activation_delay`` after
    its creation (the cache is reloaded at that moment, :func:`next_switch`).

    ``now`` is the wall clock compared with the rows' times (injectable for tests)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        master: MasterKeys,
        access_ttl: timedelta,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        activation_delay: timedelta = ACTIVATION_DELAY,
    ) -> None:
        self._pool = pool
        self._master = master
        self._access_ttl = access_ttl
        self._now = now
        self._activation_delay = activation_delay
        self._loaded_at = 0.0
        self._switch_at: datetime | None = None
        self._active: SigningKey | None = None
        self._published: list[SigningKey] = []
        self._lock = asyncio.Lock()

    async def ensure_one(self) -> None:
        """At start-up: create the first key if the schema has no current one (serialised between
        replicas). During a rotation window the successor is current (keys_sql.active_count): no key
        is added then."""
        async with self._pool.acquire() as conn, conn.transaction():
            await keys_sql.lock_keys(conn)
            if await keys_sql.active_count(conn) == 0:
                new = await create_signing_key(conn, self._master.ring, retire_others=False)
                logger.info("created the first access-token signing key {}", new.key.kid)

    async def _load(self) -> None:
        now = self._now()
        async with self._pool.acquire() as conn:
            rows = await keys_sql.published_keys(conn, now - self._access_ttl - JWKS_GRACE)
        chosen = choose_active(rows, now, self._activation_delay)
        published: list[SigningKey] = []
        active: SigningKey | None = None
        for row in rows:
            if row is chosen:
                active = open_signing_key(self._master.ring, row)
                published.append(active)
            else:
                published.append(SigningKey(row.kid, row.public_key))
        self._active, self._published = active, published
        self._switch_at = next_switch(rows, now, self._activation_delay)
        self._loaded_at = time.monotonic()

    def _stale(self) -> bool:
        return (
            time.monotonic() - self._loaded_at >= SIGNING_CACHE_S
            or self._active is None
            or (self._switch_at is not None and self._now() >= self._switch_at)
        )

    async def _fresh(self) -> None:
        if not self._stale():
            return
        async with self._lock:
            if self._stale():
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
