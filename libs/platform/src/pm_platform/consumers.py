"""Consuming events: parse, validate, dedupe, handle in a transaction, dead-letter or retry.

What happens to a consumed event is decided by the error it raises:
- the envelope or payload is invalid, its schema version unknown, or the handler raises
  :class:`InvalidEvent` → the event goes to ``pm.dlq.<service>`` with the reason, and is never retried;
- any other exception is transient → retried in place with exponential backoff (the partition waits,
  which is the backpressure we want); after ``max_attempts`` the message is nacked and redelivered;
- an event id already in the inbox → a no-op (redelivery changes state once);
- an event type this service has no handler for → acknowledged and ignored.
The handler runs inside the transaction that records the event id in the inbox, so its changes and
the inbox row commit together.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from loguru import logger
from pydantic import BaseModel, ValidationError

from pm_contracts.envelope import Envelope
from pm_contracts.registry import TopicSpec, dead_letter_topic, event_spec
from pm_platform.correlation import bind_correlation_id, reset_correlation_id
from pm_platform.kafka import KafkaBus
from pm_platform.metrics import Metrics

Handler = Callable[[asyncpg.Connection, Envelope, Any], Awaitable[None]]
_PROGRAMMING_ERRORS = (TypeError, KeyError, AttributeError, ValueError, ValidationError)


class InvalidEvent(Exception):
    """The event can never be handled (bad data for this consumer): dead-letter it, do not retry."""


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    raw: bytes


class Dispatcher:
    """Routes consumed events of one service to its handlers. Usable without Kafka (tests, replays)."""

    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        metrics: Metrics,
        handlers: dict[str, Handler],
        dead_letter: Callable[[DeadLetter, dict[str, str]], Awaitable[None]] | None = None,
        max_attempts: int = 8,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 15.0,
    ) -> None:
        for event_type in handlers:
            event_spec(event_type)  # unknown types are a programming error, caught at start-up
        self.service = service
        self._pool = pool
        self._metrics = metrics
        self._handlers = handlers
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s

    @property
    def event_types(self) -> list[str]:
        return sorted(self._handlers)

    async def dispatch(self, raw: bytes, topic: str, origin: dict[str, str] | None = None) -> Outcome:
        """Handle one raw event. Raises only when transient failures outlast ``max_attempts``."""
        origin = origin or {}
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            return await self._reject(raw, topic, "?", f"invalid envelope: {_first_error(exc)}", origin)
        token = bind_correlation_id(envelope.correlationid)
        try:
            return await self._dispatch_envelope(raw, topic, envelope, origin)
        finally:
            reset_correlation_id(token)

    async def _dispatch_envelope(
        self, raw: bytes, topic: str, envelope: Envelope, origin: dict[str, str]
    ) -> Outcome:
        handler = self._handlers.get(envelope.type)
        if handler is None:
            self._metrics.kafka_consumed.labels(topic, envelope.type, Outcome.IGNORED).inc()
            return Outcome.IGNORED
        _, spec = event_spec(envelope.type)
        if envelope.schemaversion != spec.version:
            return await self._reject(
                raw,
                topic,
                envelope.type,
                f"schema version {envelope.schemaversion} not supported (this consumer reads v{spec.version})",
                origin,
            )
        try:
            payload: BaseModel = spec.model.model_validate(envelope.data)
        except ValidationError as exc:
            return await self._reject(raw, topic, envelope.type, f"invalid data: {_first_error(exc)}", origin)

        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                outcome = await self._handle_once(handler, envelope, payload)
            except InvalidEvent as exc:
                return await self._reject(raw, topic, envelope.type, f"rejected by handler: {exc}", origin)
            except _PROGRAMMING_ERRORS as exc:
                # A bug, not a passing fault: retrying would block the partition for good.
                logger.exception("handler of {} failed with a programming error", envelope.type)
                return await self._reject(
                    raw, topic, envelope.type, f"handler error: {type(exc).__name__}: {exc}", origin
                )
            except Exception as exc:
                if attempt >= self._max_attempts:
                    logger.error("giving up on {} after {} attempts: {}", envelope.type, attempt, exc)
                    raise
                self._metrics.kafka_consume_retries.labels(topic, envelope.type).inc()
                delay = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2  # jitter
                logger.warning(
                    "transient failure handling {} ({}: {}); retry {} in {:.2f}s",
                    envelope.type,
                    type(exc).__name__,
                    exc,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self._metrics.kafka_handle_latency.labels(topic, envelope.type).observe(
                time.perf_counter() - started
            )
            self._metrics.kafka_consumed.labels(topic, envelope.type, outcome).inc()
            return outcome

    async def _handle_once(self, handler: Handler, envelope: Envelope, payload: BaseModel) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await conn.fetchval(
                """INSERT INTO inbox (event_id, consumer, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING 1""",
                envelope.id,
                self.service,
                envelope.type,
            )
            if not claimed:
                return Outcome.DUPLICATE
            await handler(conn, envelope, payload)
            return Outcome.HANDLED

    async def _reject(
        self, raw: bytes, topic: str, event_type: str, reason: str, origin: dict[str, str]
    ) -> Outcome:
        logger.warning("dead-lettering event from {}: {}", topic, reason)
        self._metrics.kafka_consumed.labels(topic, event_type, Outcome.DEAD_LETTERED).inc()
        if self._dead_letter is not None:
            headers = {"dlq_reason": reason[:1000], "dlq_source_topic": topic, "dlq_consumer": self.service}
            headers.update({f"dlq_{k}": v for k, v in origin.items()})
            await self._dead_letter(DeadLetter(reason, raw), headers)
        return Outcome.DEAD_LETTERED


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
    return f"{where}: {error['msg']}"


def kafka_dead_letter(bus: KafkaBus, service: str) -> Callable[[DeadLetter, dict[str, str]], Awaitable[None]]:
    """Dead letters go to ``pm.dlq.<service>`` with the original bytes and the reason in headers."""

    async def dead_letter(letter: DeadLetter, headers: dict[str, str]) -> None:
        await bus.publish(letter.raw, dead_letter_topic(service), headers.get("dlq_key", "-"), headers)

    return dead_letter


def subscribe(bus: KafkaBus, dispatcher: Dispatcher, topics: list[TopicSpec], group_id: str) -> None:
    """Register one FastStream subscriber (one consumer group per service) for the given topics."""
    if not topics:
        return

    async def on_message(msg: KafkaMessage) -> None:
        record = msg.raw_message
        origin: dict[str, str] = {}
        if record is not None and not isinstance(record, tuple):
            origin = {
                "partition": str(record.partition),
                "offset": str(record.offset),
                "key": (record.key or b"").decode("utf-8", "replace"),
            }
        cluster_topic = getattr(record, "topic", bus.topic(topics[0].name))
        await dispatcher.dispatch(msg.body, cluster_topic.removeprefix(bus.topic_prefix), origin)

    subscriber = bus.broker.subscriber(
        *[bus.topic(t.name) for t in topics],
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_poll_interval_ms=600_000,
        title=f"{dispatcher.service}-consumer",
        description=f"{dispatcher.service} handles: {', '.join(dispatcher.event_types)}",
    )
    subscriber(on_message)
