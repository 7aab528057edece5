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

A service declares its handlers in an :class:`EventHandlers` table, each registered with the payload
model of its event type; :func:`check_against_registry` holds the table to ``proto/topics`` in both
directions at start-up (and in a test).
"""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from loguru import logger
from pydantic import BaseModel, ValidationError

from pm_contracts.envelope import Envelope
from pm_contracts.registry import TOPICS, TopicSpec, dead_letter_topic, event_spec, event_type_of
from pm_platform.correlation import bind_correlation_id, reset_correlation_id
from pm_platform.kafka import KafkaBus
from pm_platform.metrics import Metrics
from pm_platform.retry import Backoff

if TYPE_CHECKING:
    from pm_platform.service import Runtime

# Work for once the handler's transaction has committed (telling a cache what changed): never inside it,
# where a cache could learn of a change that then rolls back.
AfterCommit = Callable[[], Awaitable[None]]
# What the dispatcher calls: the handler bound to its runtime; it may return what to do after the commit.
Handler = Callable[[asyncpg.Connection, Envelope, Any], Awaitable[list[AfterCommit] | None]]
_PROGRAMMING_ERRORS = (TypeError, KeyError, AttributeError, ValueError, ValidationError)
# The subscriber's poll: at most this many records per batch (their offsets committed once), and how
# long an empty poll waits (see subscribe).
_MAX_BATCH = 100
_BATCH_TIMEOUT_MS = 20
P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class EventContext:
    """What an event handler gets beside the payload."""

    conn: asyncpg.Connection  # in the transaction that records the event id: changes commit with it
    envelope: Envelope
    runtime: Runtime
    # Run in order once the transaction committed (a failure there is logged: the change is made).
    after_commit: list[AfterCommit] = field(default_factory=list)


EventHandler = Callable[[EventContext, P], Awaitable[None]]


@dataclass(frozen=True)
class RegisteredHandler(Generic[P]):
    event_type: str
    model: type[P]
    handle: EventHandler[P]


class RegistryMismatch(Exception):
    """A service's handlers disagree with the topic registry (proto/topics): a programming error."""


class EventHandlers:
    """A service's event handlers, each registered with the payload model of its event type::

        handlers = EventHandlers()

        @handlers.on(ProviderLinked)
        async def on_provider_linked(ctx: EventContext, event: ProviderLinked) -> None: ...

    The model names the event type (``pm_contracts.registry``), and the handler's payload parameter
    must be annotated with that model: a handler cannot be filed under the wrong type.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, RegisteredHandler[Any]] = {}

    def on(self, model: type[P]) -> Callable[[EventHandler[P]], EventHandler[P]]:
        def register(handle: EventHandler[P]) -> EventHandler[P]:
            self.add(model, handle)
            return handle

        return register

    def add(self, model: type[P], handle: EventHandler[P]) -> None:
        try:
            event_type = event_type_of(model)
        except KeyError as exc:
            raise TypeError(str(exc)) from None
        if event_type in self._handlers:
            raise TypeError(
                f"{event_type} has two handlers: {_name(self._handlers[event_type].handle)} "
                f"and {_name(handle)}"
            )
        parameters = list(inspect.signature(handle).parameters)
        hints = typing.get_type_hints(handle)
        if len(parameters) != 2 or hints.get(parameters[1]) is not model:
            raise TypeError(
                f"{_name(handle)} must take (ctx: EventContext, event: {model.__name__}) to handle {event_type}"
            )
        self._handlers[event_type] = RegisteredHandler(event_type, model, handle)

    def merged(self, other: EventHandlers) -> EventHandlers:
        """Both tables in one; an event type handled in both is a TypeError."""
        table = EventHandlers()
        for registered in (*self._handlers.values(), *other._handlers.values()):
            table.add(registered.model, registered.handle)
        return table

    @property
    def event_types(self) -> set[str]:
        return set(self._handlers)

    def bind(self, runtime: Runtime) -> dict[str, Handler]:
        """The handlers as the dispatcher calls them, each given ``runtime`` in its context."""

        def bound(registered: RegisteredHandler[Any]) -> Handler:
            async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: Any) -> list[AfterCommit]:
                ctx = EventContext(conn, envelope, runtime)
                await registered.handle(ctx, payload)
                return ctx.after_commit

            return handle

        return {event_type: bound(r) for event_type, r in self._handlers.items()}


def _name(handle: Callable[..., Any]) -> str:
    return f"{handle.__module__}.{handle.__qualname__}"


def check_against_registry(service: str, event_types: set[str]) -> None:
    """The registry tells the truth, both ways: ``service`` handles some event of every topic that lists
    it as a consumer, and handles nothing of a topic that does not. Raises RegistryMismatch."""
    problems: list[str] = []
    for topic in TOPICS:
        handled = sorted(e.type for e in topic.events if e.type in event_types)
        if topic.consumed_by(service) and not handled:
            problems.append(f"listed as a consumer of {topic.name} but handles none of its events")
        if not topic.consumed_by(service) and handled:
            problems.append(f"handles {', '.join(handled)} but is not listed as a consumer of {topic.name}")
    known = {e.type for t in TOPICS for e in t.events}
    problems += [f"handles {t}, which no topic carries" for t in sorted(event_types - known)]
    if problems:
        raise RegistryMismatch(f"{service}: " + "; ".join(problems))


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

        backoff = Backoff(self._backoff_base_s, self._backoff_max_s)
        while True:
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
                delay = backoff.next_delay()  # counts this failed attempt
                if backoff.attempts >= self._max_attempts:
                    logger.error(
                        "giving up on {} after {} attempts: {}", envelope.type, backoff.attempts, exc
                    )
                    raise
                self._metrics.kafka_consume_retries.labels(topic, envelope.type).inc()
                logger.warning(
                    "transient failure handling {} ({}: {}); retry {} in {:.2f}s",
                    envelope.type,
                    type(exc).__name__,
                    exc,
                    backoff.attempts,
                    delay,
                )
                await backoff.wait(delay)
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
            after_commit = await handler(conn, envelope, payload)
        for action in after_commit or ():
            try:
                await action()
            except Exception:  # noqa: BLE001 - the change is committed; what follows it must not undo that
                logger.exception("after handling {}: a follow-up failed", envelope.type)
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
    """Register one FastStream subscriber (one consumer group per service) for the given topics.

    A batch subscriber: the records of each poll (up to ``_MAX_BATCH``) are dispatched one by one, in
    order, and their offsets committed once for the batch. Per record, the offset commit (a Kafka round
    trip) and FastStream's own work cost as much as the dispatch itself (docs/benchmarks.md, the outbox);
    a lone event is a batch of one, committed at once. A failure nacks the batch: each partition rewinds
    to its first record of the batch, and the events handled before the failure come again, which the
    inbox turns into no-ops (Outcome.DUPLICATE).
    """
    if not topics:
        return

    async def on_message(msg: KafkaMessage) -> str:
        """Returns the last outcome: FastStream sends it back to a requester (the in-memory test broker's
        ``request``); events published to topics have no reply address, so nothing else sees it."""
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple | list) else (raw,)
        outcome = ""
        for record in records:
            origin = {
                "partition": str(record.partition),
                "offset": str(record.offset),
                "key": (record.key or b"").decode("utf-8", "replace"),
            }
            topic = record.topic.removeprefix(bus.topic_prefix)
            outcome = (await dispatcher.dispatch(record.value or b"", topic, origin)).value
        return outcome

    subscriber = bus.broker.subscriber(
        *[bus.topic(t.name) for t in topics],
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=_MAX_BATCH,
        # An empty poll waits this long (and FastStream then sleeps as long again): the most a first
        # event after a quiet spell waits; FastStream's default, 200 ms, would eat the latency budget.
        batch_timeout_ms=_BATCH_TIMEOUT_MS,
        max_poll_interval_ms=600_000,
        title=f"{dispatcher.service}-consumer",
        description=f"{dispatcher.service} handles: {', '.join(dispatcher.event_types)}",
    )
    subscriber(on_message)
