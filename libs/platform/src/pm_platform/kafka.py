"""Kafka through FastStream (over aiokafka): the broker, topic creation and event publishing.

Services never publish from a handler: the outbox relay (pm_platform.outbox) is the only caller of
:meth:`KafkaBus.publish`. The bus connects in the background, so a service starts and serves HTTP
while Kafka is down, reports Kafka unready, and catches up when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from loguru import logger

from pm_contracts.envelope import CONTENT_TYPE, Envelope
from pm_contracts.registry import TopicSpec, dead_letter_topic
from pm_platform.correlation import KAFKA_CORRELATION_HEADER
from pm_platform.retry import Backoff
from pm_platform.tasks import cancel_and_wait

_BACKOFF_MAX_S = 15.0
# How long closing waits for a connection attempt in progress to finish before cancelling it.
_CONNECT_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Record:
    """One record to publish: the registry's topic name (the bus adds its prefix), key, value, headers."""

    topic: str
    key: str
    value: bytes
    headers: dict[str, str]


class TopicSetupError(KafkaError):  # type: ignore[misc]  # aiokafka ships no type information
    """The broker refused to create a topic (e.g. a replication factor the cluster cannot meet)."""


def event_headers(envelope: Envelope) -> dict[str, str]:
    """Kafka headers: the content type, the event type (to route without parsing) and correlation id."""
    return {
        "content-type": CONTENT_TYPE,
        "ce_type": envelope.type,
        "ce_id": str(envelope.id),
        KAFKA_CORRELATION_HEADER: envelope.correlationid,
    }


class KafkaBus:
    """One FastStream broker per service process, used for publishing and for its subscribers."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        request_timeout_ms: int = 10_000,
        replication_factor: int = 1,
        topic_prefix: str = "",
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.replication_factor = replication_factor
        self.client_id = client_id
        self.broker = KafkaBroker(
            bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=request_timeout_ms,
            allow_auto_create_topics=False,
            graceful_timeout=10.0,
            logger=None,
        )
        self.connected = asyncio.Event()
        self._closing = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        """Closing has begun: nothing is consumed or published any more."""
        return self._closing.is_set()

    def topic(self, name: str) -> str:
        """The topic's name on the cluster (the registry's name behind ``KAFKA_TOPIC_PREFIX``)."""
        return self.topic_prefix + name

    async def ensure_topics(self, topics: Iterable[TopicSpec], dead_letter_for: Iterable[str] = ()) -> None:
        """Create the given topics (and dead-letter topics) if missing; idempotent across replicas."""
        wanted = [
            NewTopic(
                name=self.topic(t.name),
                num_partitions=t.partitions,
                replication_factor=self.replication_factor,
                topic_configs={"retention.ms": str(t.retention_hours * 3600 * 1000)},
            )
            for t in topics
        ] + [
            NewTopic(
                name=self.topic(dead_letter_topic(s)),
                num_partitions=1,
                replication_factor=self.replication_factor,
            )
            for s in dead_letter_for
        ]
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=f"{self.client_id}-admin"
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            # A service may both produce and consume a topic: ask for each name once.
            missing = list({t.name: t for t in wanted if t.name not in existing}.values())
            if missing:
                try:
                    response = await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    return  # another replica won the race
                # The broker answers per topic; only "already exists" (another replica) is fine.
                refused = [
                    f"{error[0]}: {error[2] if len(error) > 2 else error[1]}"
                    for error in response.topic_errors
                    if error[1] not in (0, TopicAlreadyExistsError.errno)
                ]
                if refused:
                    raise TopicSetupError("; ".join(refused))
                logger.info("created Kafka topics {}", [t.name for t in missing])
        finally:
            await admin.close()

    def start_in_background(self, prepare: list[TopicSpec], dead_letter_for: list[str]) -> None:
        self._connector = asyncio.create_task(self._connect(prepare, dead_letter_for), name="kafka-connect")

    async def _connect(self, prepare: list[TopicSpec], dead_letter_for: list[str]) -> None:
        backoff = Backoff(initial_s=0.5, max_s=_BACKOFF_MAX_S)
        while not self._closing.is_set():
            try:
                await self.ensure_topics(prepare, dead_letter_for)
                await self.broker.start()
                self.connected.set()
                logger.info("connected to Kafka at {}", self.bootstrap_servers)
                return
            except (KafkaError, OSError) as exc:
                detail = (
                    f"{type(exc).__name__}: {exc}" if isinstance(exc, TopicSetupError) else type(exc).__name__
                )
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                delay = backoff.next_delay()
                logger.warning("Kafka not ready ({}); retrying in {:.1f}s", detail, delay)
                await backoff.wait(delay, interrupt=self._closing)

    @property
    def producer(self) -> AIOKafkaProducer | None:
        """The broker's own aiokafka producer once connected (idempotent, acks=all); None before, and under
        FastStream's in-memory test broker (pm_platform.testing), whose fake producer has none.

        FastStream keeps it behind a private attribute; faststream is pinned, and an integration test
        (test_outbox) fails if a new version moves it, so the fast path below cannot vanish unnoticed.
        """
        state = getattr(self.broker.config.producer, "_producer", None)
        producer = getattr(state, "producer", None) if state else None
        return producer if isinstance(producer, AIOKafkaProducer) else None

    async def send_all(self, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """Queue the records in order; each future resolves when the broker acknowledged that record
        (acks=all). The idempotent producer keeps each partition's order.

        Straight to the broker's aiokafka producer when it has one: FastStream's publish path costs as
        much CPU per record as aiokafka's send itself (docs/benchmarks.md, the outbox). The records are
        the same either way: value, key and headers.
        """
        producer = self.producer
        futures: list[asyncio.Future[Any]] = []
        for record in records:
            if producer is not None:
                headers = [(name, text.encode()) for name, text in record.headers.items()]
                futures.append(
                    await producer.send(
                        self.topic(record.topic), record.value, key=record.key.encode(), headers=headers
                    )
                )
                continue
            result = await self.broker.publish(
                record.value,
                self.topic(record.topic),
                key=record.key.encode(),
                headers=record.headers,
                no_confirm=True,
            )
            if not isinstance(result, asyncio.Future):
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                done.set_result(result)
                result = done
            futures.append(result)
        return futures

    async def send(self, value: bytes, topic: str, key: str, headers: dict[str, str]) -> asyncio.Future[Any]:
        """Queue one record (see :meth:`send_all`)."""
        (future,) = await self.send_all([Record(topic, key, value, headers)])
        return future

    async def publish(self, value: bytes, topic: str, key: str, headers: dict[str, str]) -> None:
        """Publish one record and wait for the broker's acknowledgement."""
        await (await self.send(value, topic, key, headers))

    async def ping(self, limit_s: float = 2.0) -> None:
        """Raise unless the cluster answers a metadata request."""
        if not self.connected.is_set():
            raise ConnectionError("not connected to Kafka")
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"{self.client_id}-health",
            request_timeout_ms=2000,
        )
        try:
            await asyncio.wait_for(admin.start(), limit_s)
            await asyncio.wait_for(admin.describe_cluster(), limit_s)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def close(self) -> None:
        # A connection attempt in progress is let finish (bounded): cancelled inside broker.start(),
        # FastStream loses track of the producer it was starting, which then never closes.
        self._closing.set()
        if self._connector is not None and not self._connector.done():
            await asyncio.wait({self._connector}, timeout=_CONNECT_GRACE_S)
        await cancel_and_wait(self._connector)
        try:
            # Bounded: a consumer leaving its group can wait on a coordinator that is gone.
            await asyncio.wait_for(self.broker.stop(), 15)
        except TimeoutError:
            logger.warning("Kafka client did not stop within 15s; abandoning it")
        except Exception as exc:  # noqa: BLE001 - shutting down: report, never raise
            logger.warning("Kafka client stopped with {}", type(exc).__name__)
