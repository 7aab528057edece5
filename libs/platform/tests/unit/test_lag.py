"""Consumer lag from offsets (pm_platform.lag): the arithmetic, and a sampler that never takes the
service down (the sampling against a real cluster: tests/integration/test_consumer_lag.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import TopicPartition
from loguru import logger

from pm_platform.lag import ConsumerLagSampler, topic_lag
from pm_platform.metrics import Metrics

A0, A1, A2 = (TopicPartition("pm.a", p) for p in range(3))
B0 = TopicPartition("pm.b", 0)


def test_lag_is_end_minus_committed_summed_per_topic() -> None:
    end = {A0: 100, A1: 50, B0: 7}
    committed = {A0: 90, A1: 50, B0: 2}
    assert topic_lag(end, committed, {}) == {"pm.a": 10, "pm.b": 5}


def test_a_partition_without_a_committed_offset_counts_from_its_beginning() -> None:
    end = {A0: 100, A1: 40, A2: 10}
    beginning = {A0: 0, A1: 30, A2: 10}
    # A1 never committed (missing), A2 committed "no offset" (-1, as Kafka answers); A0 committed 60.
    assert topic_lag(end, {A0: 60, A2: -1}, beginning) == {"pm.a": 40 + 10 + 0}
    assert topic_lag(end, {A0: 60, A1: None}, beginning) == {"pm.a": 40 + 10 + 0}
    # Nothing committed at all: everything retained is lag.
    assert topic_lag(end, {}, beginning) == {"pm.a": 100 + 10}
    # No beginning known either: from offset 0.
    assert topic_lag({B0: 3}, {}, {}) == {"pm.b": 3}


def test_records_deleted_by_retention_are_not_lag() -> None:
    # Committed 5, but the log now starts at 80: the consumer resets to 80.
    assert topic_lag({A0: 100}, {A0: 5}, {A0: 80}) == {"pm.a": 20}


def test_lag_is_never_negative_and_empty_topics_count_zero() -> None:
    # A committed offset past the end (a truncated log after an unclean leader election).
    assert topic_lag({A0: 10, B0: 0}, {A0: 12}, {A0: 0, B0: 0}) == {"pm.a": 0, "pm.b": 0}
    assert topic_lag({}, {A0: 1}, {}) == {}


def _sampler(metrics: Metrics, interval_s: float = 15.0, **subscriptions: list[str]) -> ConsumerLagSampler:
    return ConsumerLagSampler(
        "127.0.0.1:9",
        "t",
        subscriptions or {"g": ["pm.a"]},
        metrics.kafka_consumer_lag,
        interval_s=interval_s,
        topic_prefix="t-1.",
    )


def test_sampling_is_off_at_interval_zero_or_without_topics() -> None:
    metrics = Metrics("t")
    assert _sampler(metrics).enabled
    assert not _sampler(metrics, interval_s=0).enabled
    assert not ConsumerLagSampler(
        "127.0.0.1:9", "t", {"g": []}, metrics.kafka_consumer_lag, interval_s=15
    ).enabled


async def test_a_disabled_sampler_starts_no_task() -> None:
    sampler = _sampler(Metrics("t"), interval_s=0)
    sampler.start_in_background()
    assert sampler._task is None
    await sampler.close()


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING", format="{message}")
    yield lines
    logger.remove(sink)


async def test_failed_passes_keep_the_last_values_and_log_at_most_once_a_minute(
    warnings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = Metrics("t")
    metrics.kafka_consumer_lag.labels("g", "pm.a").set(42)
    sampler = _sampler(metrics, interval_s=0.01)
    passes = 0

    async def failing() -> dict[tuple[str, str], int]:
        nonlocal passes
        passes += 1
        raise KafkaConnectionError("no broker")

    monkeypatch.setattr(sampler, "sample", failing)
    ready = asyncio.Event()
    sampler.start_in_background(ready)
    await asyncio.sleep(0.05)
    assert passes == 0  # waits for the bus to connect
    ready.set()
    for _ in range(200):
        if passes >= 5:
            break
        await asyncio.sleep(0.01)
    assert passes >= 5
    assert sampler._task is not None and not sampler._task.done()  # still sampling
    await sampler.close()
    assert sampler._task is None
    lagging = [line for line in warnings if "consumer lag not sampled" in line]
    assert len(lagging) == 1, warnings
    assert "KafkaConnectionError" in lagging[0]
    assert metrics.registry.get_sample_value("pm_kafka_consumer_lag", {"group": "g", "topic": "pm.a"}) == 42
