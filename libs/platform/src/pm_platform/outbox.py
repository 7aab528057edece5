"""The transactional outbox: events are rows written with the state change, published by a relay.

Guarantees: an event is published at least once, after its transaction commits, in the order the
rows were written (one relay per service is leader, chosen by an advisory lock, so replicas do not
interleave). Kafka being down only delays publishing; the rows wait and the backlog is a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from loguru import logger
from pydantic import BaseModel, ValidationError

from pm_contracts.envelope import Envelope
from pm_contracts.registry import event_spec
from pm_platform.correlation import current_correlation_id, new_correlation_id
from pm_platform.db import lock_until_commit
from pm_platform.kafka import KafkaBus, Record, event_headers
from pm_platform.metrics import Metrics
from pm_platform.retry import Backoff

_BATCH = 2000
_IDLE_POLL_S = 1.0
# The backlog gauges cost a query: at most this often while publishing, not after every batch.
_BACKLOG_EVERY_S = 1.0
_BACKOFF_MAX_S = 10.0
_INBOX_RETENTION = timedelta(days=14)
# Kafka's default max.message.bytes is 1 MiB; stay clear of it with headers and batching overhead.
MAX_EVENT_BYTES = 900_000


def _notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


async def add_event(
    conn: asyncpg.Connection,
    *,
    schema: str,
    source: str,
    event_type: str,
    subject: str,
    data: BaseModel,
    correlation_id: str | None = None,
) -> Envelope:
    """Write one event to the outbox inside the caller's transaction.

    ``data`` must be the registry's model for ``event_type``; ``subject`` (the aggregate id) becomes
    the Kafka key. Raises KeyError/TypeError for an unknown type or a wrong model: a programming error.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("add_event must run inside the transaction that changes state")
    topic, spec = event_spec(event_type)
    if not isinstance(data, spec.model):
        raise TypeError(f"{event_type} takes {spec.model.__name__}, not {type(data).__name__}")
    # Per-aggregate order: rows of one subject commit in the order their seq was taken, because a
    # second writer of the same subject waits here until the first one's transaction ends.
    await lock_until_commit(conn, f"{topic.name}:{subject}")
    envelope = Envelope(
        source=f"/services/{source}",
        type=event_type,
        subject=subject,
        schemaversion=spec.version,
        correlationid=correlation_id or current_correlation_id() or new_correlation_id(),
        data=data.model_dump(mode="json"),
    )
    serialized = envelope.model_dump_json()
    if len(serialized.encode()) > MAX_EVENT_BYTES:
        raise ValueError(f"{event_type} event of {len(serialized)} bytes exceeds {MAX_EVENT_BYTES}")
    await conn.execute(
        """INSERT INTO outbox (event_id, topic, partition_key, event_type, envelope)
           VALUES ($1, $2, $3, $4, $5::jsonb)""",
        envelope.id,
        topic.name,
        subject,
        event_type,
        serialized,
    )
    # Delivered at commit; wakes the relay at once instead of at its next poll.
    await conn.execute("SELECT pg_notify($1, '')", _notify_channel(schema))
    return envelope


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A row on its way to Kafka, as the record it becomes (the stored envelope, JSON as written)."""

    row: asyncpg.Record
    record: Record


class OutboxRelay:
    """Publishes unpublished outbox rows in order. Run one per process; only the leader publishes."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: KafkaBus,
        schema: str,
        metrics: Metrics,
        publish_timeout_s: float = 15.0,
    ) -> None:
        self._pool = pool
        # aiokafka keeps retrying a send while the broker is away; past this the batch counts as failed
        # and is sent again later (a late duplicate is harmless: consumers dedupe by event id).
        self._publish_timeout_s = publish_timeout_s
        self._bus = bus
        self._schema = schema
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._lock_id = int.from_bytes(
            hashlib.sha256(f"outbox:{schema}".encode()).digest()[:8], "big", signed=True
        )
        self.published_total = 0

    async def run(self) -> None:
        """Loop until cancelled: wait to be leader, then publish as rows arrive."""
        while True:
            try:
                await self._bus.connected.wait()
                async with self._pool.acquire() as leader_conn:
                    if not await leader_conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_id):
                        await asyncio.sleep(5)
                        continue
                    try:
                        await leader_conn.add_listener(_notify_channel(self._schema), self._on_notify)
                        await self._lead(leader_conn)
                    finally:
                        await self._step_down(leader_conn)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("outbox relay lost the database ({}); retrying", type(exc).__name__)
                await asyncio.sleep(2)

    async def _step_down(self, conn: asyncpg.Connection) -> None:
        """Give up leadership: the session advisory lock and the LISTEN go. The pool sends no reset
        when a connection returns (pm_platform.db), so a connection that could not undo them is closed
        rather than handed to someone else still holding the lock."""
        try:
            await asyncio.shield(self._undo_session_state(conn))
        except asyncio.CancelledError:
            conn.terminate()
            raise
        except Exception:  # noqa: BLE001 - the connection is closed; whatever ended the lead goes on
            conn.terminate()

    async def _undo_session_state(self, conn: asyncpg.Connection) -> None:
        await conn.remove_listener(_notify_channel(self._schema), self._on_notify)
        await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_id)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        backoff = Backoff(initial_s=0.2, max_s=_BACKOFF_MAX_S)
        last_purge = last_backlog = 0.0
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                sent = await self.publish_batch(conn)
            except Exception as exc:  # noqa: BLE001 - aiokafka raises many types; each means retry later
                await self._record_backlog()
                delay = backoff.next_delay()
                logger.warning(
                    "outbox publish failed ({}: {}); retrying in {:.1f}s", type(exc).__name__, exc, delay
                )
                await backoff.wait(delay)
                continue
            backoff.reset()
            if sent == _BATCH:
                continue  # more waiting
            if loop.time() - last_backlog >= _BACKLOG_EVERY_S:
                await self._record_backlog()
                last_backlog = loop.time()
            if loop.time() - last_purge > 600:
                await self._purge()
                last_purge = loop.time()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)

    async def publish_batch(self, conn: asyncpg.Connection | None = None) -> int:
        """Publish up to one batch in order; rows are deleted only after Kafka acknowledged all of them.

        On a failure nothing is deleted and the batch is sent again later: consumers dedupe by event id.
        ``conn`` is the leader's own connection (no pool round trip per batch), or one from the pool.
        No transaction and no row locks: the leader is the only relay of its schema (its advisory lock),
        so a batch costs two statements; should leadership pass in the middle of a batch (the leader's
        connection lost), the new leader may send some of its rows again, which consumers dedupe.
        """
        if conn is None:
            async with self._pool.acquire() as pooled:
                return await self.publish_batch(pooled)
        rows = await conn.fetch(
            """SELECT seq, topic, partition_key, event_type, envelope::text AS envelope FROM outbox
               WHERE published_at IS NULL AND failed_at IS NULL ORDER BY seq LIMIT $1""",
            _BATCH,
        )
        batch = await self._set_aside_unpublishable(conn, rows)
        if not batch:
            return 0
        try:
            await asyncio.wait_for(self._send_all(batch), self._publish_timeout_s)
        except Exception as exc:
            self._metrics.kafka_produce_errors.labels(batch[0].row["topic"]).inc()
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                batch[0].row["seq"],
                f"{type(exc).__name__}: {exc}"[:500],
            )
            raise
        # Published rows go at once (Kafka keeps the events): marking them instead cost a new row
        # version in every index of the table, the relay's largest database cost.
        await conn.execute("DELETE FROM outbox WHERE seq = ANY($1)", [e.row["seq"] for e in batch])
        for (topic, event_type), count in Counter(
            (e.row["topic"], e.row["event_type"]) for e in batch
        ).items():
            self._metrics.kafka_produced.labels(topic, event_type).inc(count)
        self.published_total += len(batch)
        return len(batch)

    async def _set_aside_unpublishable(
        self, conn: asyncpg.Connection, rows: list[asyncpg.Record]
    ) -> list[_Outgoing]:
        """Rows that can never be published (invalid envelope, too large) are marked failed so that
        they do not block the rows behind them; the rest are returned, each parsed once."""
        good: list[_Outgoing] = []
        for row in rows:
            problem: str | None = None
            try:
                envelope = Envelope.model_validate_json(row["envelope"])
            except ValidationError as exc:
                problem = f"invalid envelope: {exc.errors()[0]['msg']}"
            else:
                # Sent compact, as add_event measured it: PostgreSQL's jsonb text puts a space after
                # every ',' and ':', so an event accepted at its limit would be larger read back.
                body = envelope.model_dump_json().encode()
                if len(body) > MAX_EVENT_BYTES:
                    problem = f"too large: {len(body)} bytes"
            if problem is None:
                record = Record(row["topic"], row["partition_key"], body, event_headers(envelope))
                good.append(_Outgoing(row, record))
                continue
            logger.error(
                "outbox event seq {} ({}) can never be published: {}", row["seq"], row["event_type"], problem
            )
            self._metrics.kafka_produce_errors.labels(row["topic"]).inc()
            await conn.execute(
                "UPDATE outbox SET failed_at = now(), last_error = $2 WHERE seq = $1", row["seq"], problem
            )
        return good

    async def _send_all(self, batch: list[_Outgoing]) -> None:
        # Send without waiting for each ack, then wait for all: the idempotent producer keeps
        # per-partition order, and a batch costs one round trip instead of one per event.
        await asyncio.gather(*await self._bus.send_all([event.record for event in batch]))

    async def _record_backlog(self) -> None:
        with contextlib.suppress(Exception):
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL AND failed_at IS NULL"
                )
            assert row is not None
            self._metrics.outbox_backlog.set(row["n"])
            oldest: datetime | None = row["oldest"]
            age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
            self._metrics.outbox_oldest_age.set(age)

    async def _purge(self) -> None:
        """Drop what can no longer matter: rows an older version marked published instead of deleting
        them, and inbox ids older than any event Kafka could still redeliver (topic retention is at
        most a week)."""
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")
            await conn.execute("DELETE FROM inbox WHERE handled_at < now() - $1::interval", _INBOX_RETENTION)
