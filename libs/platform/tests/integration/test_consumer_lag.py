"""pm_kafka_consumer_lag against the real cluster: a fresh topic and group, N records produced, the group's
committed offset moved by hand, one sampling pass each time (pm_platform.lag)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from pm_platform.lag import ConsumerLagSampler
from pm_platform.metrics import Metrics

pytestmark = pytest.mark.integration

N = 25
K = 10


@pytest.fixture
async def fresh_topic(infra) -> AsyncIterator[tuple[str, str]]:
    """A topic of this test's own, ``t-<uuid>.pm.lag`` (one partition): its prefix and name; deleted after."""
    prefix = f"t-{uuid.uuid4().hex}."
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + "pm.lag", num_partitions=1, replication_factor=1)])
        yield prefix, "pm.lag"
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([prefix + "pm.lag"])
        await admin.close()


async def _commit(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    """Commit ``offset`` for ``group`` without joining it (a manually assigned consumer)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_the_gauge_is_end_minus_committed_offsets(infra, fresh_topic) -> None:
    prefix, name = fresh_topic
    cluster_topic = prefix + name
    tp = TopicPartition(cluster_topic, 0)
    group = f"lag-test-{uuid.uuid4().hex}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(N):
            await producer.send_and_wait(cluster_topic, f"record {i}".encode(), partition=0)
    finally:
        await producer.stop()

    metrics = Metrics("lag-test")
    sampler = ConsumerLagSampler(
        infra.kafka_bootstrap,
        f"lag-test-{uuid.uuid4().hex[:8]}",
        {group: [name]},
        metrics.kafka_consumer_lag,
        interval_s=15,
        topic_prefix=prefix,
    )

    def gauge() -> float | None:
        return metrics.registry.get_sample_value("pm_kafka_consumer_lag", {"group": group, "topic": name})

    try:
        # Nothing committed yet: every record from the beginning is lag.
        assert await asyncio.wait_for(sampler.sample(), 60) == {(group, name): N}
        assert gauge() == N

        await _commit(infra.kafka_bootstrap, group, tp, K)
        assert await asyncio.wait_for(sampler.sample(), 60) == {(group, name): N - K}
        assert gauge() == N - K

        await _commit(infra.kafka_bootstrap, group, tp, N)
        await asyncio.wait_for(sampler.sample(), 60)
        assert gauge() == 0
    finally:
        await sampler.close()


async def test_a_topic_missing_from_the_cluster_is_skipped_not_created(infra) -> None:
    prefix = f"t-{uuid.uuid4().hex}."
    metrics = Metrics("lag-test")
    sampler = ConsumerLagSampler(
        infra.kafka_bootstrap,
        "lag-test",
        {f"lag-test-{uuid.uuid4().hex}": ["pm.nothing"]},
        metrics.kafka_consumer_lag,
        interval_s=15,
        topic_prefix=prefix,
    )
    try:
        assert await asyncio.wait_for(sampler.sample(), 60) == {}
    finally:
        await sampler.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        assert not [t for t in await admin.list_topics() if t.startswith(prefix)]
    finally:
        await admin.close()


async def test_a_consuming_service_exports_the_lag_of_its_group(service_env_factory) -> None:
    from pm_contracts.registry import topics_consumed_by
    from pm_platform.testing import running_service
    from pm_playlist.app import definition

    env = await service_env_factory("playlist")
    env["KAFKA_LAG_INTERVAL_S"] = "0.2"
    group = env["KAFKA_CONSUMER_GROUP"]
    async with running_service(definition(), env) as (client, _):
        wanted = {
            f'pm_kafka_consumer_lag{{group="{group}",topic="{t.name}"}}'
            for t in topics_consumed_by("playlist")
        }
        found: set[str] = set()
        for _ in range(150):
            text = await (await client.get("/metrics")).text()
            found = {
                line.split(" ")[0] for line in text.splitlines() if line.startswith("pm_kafka_consumer_lag{")
            }
            if wanted <= found:
                break
            await asyncio.sleep(0.2)
        assert wanted <= found, sorted(found)
