"""Kafka consumer lag, read from the offsets: ``pm_kafka_consumer_lag{group, topic}``.

Every ``KAFKA_LAG_INTERVAL_S`` the chassis of a service that consumes asks the cluster, for its consumer
group and each topic it subscribes to, for the group's committed offsets (the admin API's OffsetFetch) and
the partitions' end offsets (a consumer outside any group: ListOffsets), and exports per topic the records
the group has not committed yet:

    lag(topic) = sum over its partitions of max(0, end - position)

where ``position`` is the committed offset. A partition without one (the group never committed there: a
new group, or a partition added since) counts from the partition's beginning offset, as our consumers do
(``auto_offset_reset="earliest"``: they will read every record still retained); so does a committed
offset below the beginning (its records were deleted by retention: the consumer resets to the earliest
one, and records that no longer exist are not lag).

The sampler keeps one admin client and one consumer for its life. A failed pass (Kafka unreachable, a
timeout) leaves the gauge at its last values and is logged at most once a minute; the service carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from loguru import logger
from prometheus_client import Gauge

from pm_platform.tasks import cancel_and_wait

# Failed passes are logged at most this often.
_ERROR_LOG_EVERY_S = 60.0
# A pass (and closing the clients) gives up after this long.
_REQUEST_TIMEOUT_MS = 10_000
_PASS_TIMEOUT_S = 30.0


def topic_lag(
    end: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int | None],
    beginning: Mapping[TopicPartition, int],
) -> dict[str, int]:
    """The lag of one consumer group per topic, from the offsets of the partitions in ``end``.

    ``committed`` holds the group's committed offset per partition; a partition missing from it, or with
    None or a negative offset (Kafka's "no offset"), counts from its ``beginning`` offset (0 if unknown),
    and so does an offset below the beginning (its records are gone). Each partition adds
    ``max(0, end - position)``.
    """
    lag: dict[str, int] = {}
    for tp, last in end.items():
        first = beginning.get(tp, 0)
        offset = committed.get(tp)
        position = first if offset is None or offset < 0 else max(offset, first)
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, last - position)
    return lag


class ConsumerLagSampler:
    """Samples the lag of consumer groups into a Gauge labelled (group, topic).

    ``subscriptions`` maps each consumer group to the topics it subscribes to, by the registry's name: the
    cluster's name is ``topic_prefix`` + that name, and the gauge's ``topic`` label is the registry's name,
    like the other pm_kafka_* metrics.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        subscriptions: Mapping[str, Sequence[str]],
        gauge: Gauge,
        *,
        interval_s: float,
        topic_prefix: str = "",
        request_timeout_ms: int = _REQUEST_TIMEOUT_MS,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.interval_s = interval_s
        self.topic_prefix = topic_prefix
        self._subscriptions = {group: sorted(set(t)) for group, t in subscriptions.items() if t}
        self._gauge = gauge
        self._request_timeout_ms = request_timeout_ms
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_error_logged = -math.inf

    @property
    def enabled(self) -> bool:
        """Something to sample, and sampling not turned off (``KAFKA_LAG_INTERVAL_S=0``)."""
        return self.interval_s > 0 and bool(self._subscriptions)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        """The admin client and the consumer (no group: it only asks for offsets), started once and kept;
        a start that fails leaves nothing behind, and the next pass tries again."""
        if self._admin is None or self._consumer is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                request_timeout_ms=self._request_timeout_ms,
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=self._request_timeout_ms,
            )
            try:
                await admin.start()
                await consumer.start()
            except BaseException:
                await _close_quietly(admin, consumer)
                raise
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer

    async def sample(self) -> dict[tuple[str, str], int]:
        """One pass: the lag of every (group, topic), set on the gauge and returned. Raises what Kafka
        raises, the gauge then unchanged. A topic missing from the cluster is skipped (asking for it by
        name could create it where topics are created automatically)."""
        admin, consumer = await self._clients()
        wanted = {self.topic_prefix + t for topics in self._subscriptions.values() for t in topics}
        described: list[dict[str, Any]] = await admin.describe_topics()  # every topic: creates none
        partitions = [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if t["topic"] in wanted and not t["error_code"]
            for p in t["partitions"]
        ]
        if not partitions:
            return {}
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        beginning: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        values: dict[tuple[str, str], int] = {}
        for group, topics in self._subscriptions.items():
            names = {self.topic_prefix + t for t in topics}
            mine = [tp for tp in partitions if tp.topic in names]
            if not mine:
                continue
            offsets = await admin.list_consumer_group_offsets(group, partitions=mine)
            committed = {tp: meta.offset for tp, meta in offsets.items()}
            lag = topic_lag({tp: end[tp] for tp in mine}, committed, beginning)
            for name, value in lag.items():
                values[(group, name.removeprefix(self.topic_prefix))] = value
        for (group, topic), value in values.items():
            self._gauge.labels(group, topic).set(value)
        return values

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Sample every ``interval_s`` (after ``ready`` is set: the bus has created its topics) until
        cancelled; never raises otherwise."""
        if ready is not None:
            await ready.wait()
        while True:
            try:
                await asyncio.wait_for(self.sample(), _PASS_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - a metric: report, keep the last values, go on
                self._report(exc)
            await asyncio.sleep(self.interval_s)

    def _report(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_error_logged >= _ERROR_LOG_EVERY_S:
            self._last_error_logged = now
            logger.warning(
                "Kafka consumer lag not sampled ({}: {}); pm_kafka_consumer_lag keeps its last values",
                type(exc).__name__,
                exc,
            )

    def start_in_background(self, ready: asyncio.Event | None = None) -> None:
        """Start sampling in a task of its own; nothing when not :attr:`enabled`."""
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self.run(ready), name="kafka-lag")

    async def close(self) -> None:
        """Stop sampling and close the clients (bounded: a client may wait on a broker that is gone)."""
        await cancel_and_wait(self._task)
        self._task = None
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        await _close_quietly(admin, consumer)


async def _close_quietly(admin: AIOKafkaAdminClient | None, consumer: AIOKafkaConsumer | None) -> None:
    if consumer is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)
    if admin is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), 10)
