"""The Done-when of the foundation: an event written through the outbox while Kafka is stopped is
delivered after Kafka comes back, and the same event delivered twice changes state once."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer

from pm_contracts.envelope import Envelope
from pm_contracts.registry import topic
from pm_contracts.users import UserDeleted
from pm_devstack.kafka import KafkaServer
from pm_devstack.ports import free_port_block
from pm_platform.consumers import Dispatcher, Outcome
from pm_platform.kafka import KafkaBus
from pm_platform.metrics import Metrics
from pm_platform.outbox import OutboxRelay, add_event

pytestmark = pytest.mark.integration


@pytest.fixture
async def private_kafka(stack, tmp_path):
    """A broker of this test's own, so stopping it disturbs nothing else."""
    base = free_port_block((0, 1))
    server = KafkaServer(
        tmp_path / "kafka",
        base,
        base + 1,
        libs_dir=stack.config.state_dir / "kafka" / "libs",
        name="kafka-outbox-test",
    )
    await asyncio.to_thread(server.install)
    await asyncio.to_thread(server.start)
    await asyncio.to_thread(server.wait_healthy, 90)
    yield server
    await asyncio.to_thread(server.stop)


async def _consume_one(bootstrap: str, topic_name: str, timeout_s: float) -> tuple[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        topic_name,
        bootstrap_servers=bootstrap,
        group_id=f"t-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout_s)
        return record.key, record.value
    finally:
        await consumer.stop()


async def test_outbox_survives_a_broker_outage_and_redelivery_changes_state_once(pool, private_kafka):
    metrics = Metrics("outbox-test")
    bus = KafkaBus(private_kafka.bootstrap_servers, client_id="outbox-test", request_timeout_ms=3000)
    bus.start_in_background([topic("pm.users")], [])
    await asyncio.wait_for(bus.connected.wait(), 60)
    relay = OutboxRelay(pool, bus, "playlist", metrics, publish_timeout_s=2)
    relay_task = asyncio.create_task(relay.run())
    try:
        await asyncio.to_thread(private_kafka.stop)
        user_id = uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            envelope = await add_event(
                conn,
                schema="playlist",
                source="auth",
                event_type="user.deleted",
                subject=str(user_id),
                data=UserDeleted(user_id=user_id, deleted_at=datetime.now(UTC)),
            )
        for _ in range(300):  # the relay tries and fails while the broker is down
            async with pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT published_at, attempts FROM outbox WHERE event_id = $1", envelope.id
                )
            if row["attempts"] >= 1:
                break
            await asyncio.sleep(0.1)
        assert row["published_at"] is None and row["attempts"] >= 1

        await asyncio.to_thread(private_kafka.start)
        await asyncio.to_thread(private_kafka.wait_healthy, 90)
        key, value = await _consume_one(private_kafka.bootstrap_servers, "pm.users", 90)
        assert key == str(user_id).encode()
        assert Envelope.model_validate_json(value).id == envelope.id
        for _ in range(100):
            async with pool.acquire() as conn:
                if not await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", envelope.id):
                    break  # published, acknowledged, and so deleted
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the relay never finished publishing the event")
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await bus.close()

    # The same event delivered twice changes state once.
    async def count_deletion(conn, envelope, event):
        await conn.execute(
            "INSERT INTO counters VALUES ('deleted', 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )

    dispatcher = Dispatcher("playlist", pool, metrics, {"user.deleted": count_deletion})
    assert await dispatcher.dispatch(value, "pm.users") is Outcome.HANDLED
    assert await dispatcher.dispatch(value, "pm.users") is Outcome.DUPLICATE
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT value FROM counters WHERE name = 'deleted'") == 1


async def test_an_unpublishable_row_is_set_aside_and_does_not_block_the_rest(pool, infra):
    prefix = f"t-{uuid.uuid4().hex[:8]}."
    bus = KafkaBus(infra.kafka_bootstrap, client_id="outbox-poison", topic_prefix=prefix)
    bus.start_in_background([topic("pm.users")], [])
    await asyncio.wait_for(bus.connected.wait(), 60)
    # The relay's fast path, aiokafka's producer behind FastStream (pinned: a new FastStream that moves
    # it must fail here, not silently fall back to the slower publish).
    assert bus.producer is not None
    relay = OutboxRelay(pool, bus, "playlist", Metrics("outbox-poison"))
    user_id = uuid.uuid4()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO outbox (event_id, topic, partition_key, event_type, envelope)
                   VALUES ($1, 'pm.users', 'k', 'user.deleted', '{"not": "an envelope"}'::jsonb)""",
                uuid.uuid4(),
            )
            good = await add_event(
                conn,
                schema="playlist",
                source="auth",
                event_type="user.deleted",
                subject=str(user_id),
                data=UserDeleted(user_id=user_id, deleted_at=datetime.now(UTC)),
            )
        assert await relay.publish_batch() == 1
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_id, failed_at, last_error FROM outbox ORDER BY seq")
        (poison,) = rows  # the good event was published and its row deleted; the poison stays, set aside
        assert poison["failed_at"] is not None
        assert "invalid envelope" in poison["last_error"]
        assert poison["event_id"] != good.id
        key, value = await _consume_one(infra.kafka_bootstrap, prefix + "pm.users", 30)
        assert key == str(user_id).encode()
        assert Envelope.model_validate_json(value) == good
    finally:
        await bus.close()


async def test_an_event_too_large_for_kafka_is_refused_when_written(pool):
    from pm_contracts.jobs import JobUpdated

    now = datetime.now(UTC)
    huge = JobUpdated(
        job_id=uuid.uuid4(),
        service="export",
        kind="k",
        user_id=None,
        state="succeeded",
        progress=1,
        result={"blob": "x" * 1_000_000},
        created_at=now,
        updated_at=now,
    )
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(ValueError, match="exceeds"):
            await add_event(
                conn, schema="playlist", source="export", event_type="job.updated", subject="j", data=huge
            )


async def test_a_relay_that_stops_hands_the_lead_to_another(pool, infra):
    """The leader's session lock goes with it: the pool sends no reset when a connection comes back
    (pm_platform.db), so the relay must undo its lock itself, or the next leader would wait forever."""
    prefix = f"t-{uuid.uuid4().hex[:8]}."
    bus = KafkaBus(infra.kafka_bootstrap, client_id="outbox-handover", topic_prefix=prefix)
    bus.start_in_background([topic("pm.users")], [])
    await asyncio.wait_for(bus.connected.wait(), 60)

    async def publish_one_through(relay: OutboxRelay) -> None:
        user_id = uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            await add_event(
                conn,
                schema="playlist",
                source="auth",
                event_type="user.deleted",
                subject=str(user_id),
                data=UserDeleted(user_id=user_id, deleted_at=datetime.now(UTC)),
            )
        task = asyncio.create_task(relay.run())
        try:
            for _ in range(300):
                if relay.published_total:
                    return
                await asyncio.sleep(0.05)
            pytest.fail("the relay never led")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        first = OutboxRelay(pool, bus, "playlist", Metrics("outbox-first"))
        await publish_one_through(first)
        async with pool.acquire() as conn:
            held = await conn.fetchval(
                """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
            )
        assert held == 0, "the stopped relay's connection went back to the pool still holding its lock"
        second = OutboxRelay(pool, bus, "playlist", Metrics("outbox-second"))
        await publish_one_through(second)  # the lock is free again, on every pooled connection
        assert (first.published_total, second.published_total) == (1, 1)
    finally:
        await bus.close()


async def test_an_event_accepted_at_its_limit_is_published_whole(pool, infra):
    """PostgreSQL's jsonb text spaces every ',' and ':': an event written just under the limit reads
    back larger than it, and must still go out (as it was measured: compact)."""
    from pm_contracts.jobs import JobUpdated
    from pm_platform.outbox import MAX_EVENT_BYTES

    now = datetime.now(UTC)
    job_id = uuid.uuid4()
    event = JobUpdated(
        job_id=job_id,
        service="export",
        kind="k",
        user_id=None,
        state="succeeded",
        progress=1,
        result={f"k{i}": i for i in range(56_000)},
        created_at=now,
        updated_at=now,
    )
    prefix = f"t-{uuid.uuid4().hex[:8]}."
    bus = KafkaBus(infra.kafka_bootstrap, client_id="outbox-limit", topic_prefix=prefix)
    bus.start_in_background([topic("pm.jobs")], [])
    await asyncio.wait_for(bus.connected.wait(), 60)
    relay = OutboxRelay(pool, bus, "playlist", Metrics("outbox-limit"))
    try:
        async with pool.acquire() as conn, conn.transaction():
            written = await add_event(
                conn, schema="playlist", source="export", event_type="job.updated", subject="j", data=event
            )
            stored = await conn.fetchval("SELECT envelope::text FROM outbox WHERE event_id = $1", written.id)
        assert len(written.model_dump_json()) <= MAX_EVENT_BYTES < len(stored.encode())
        assert await relay.publish_batch() == 1
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", written.id) == 0
        _, value = await _consume_one(infra.kafka_bootstrap, prefix + "pm.jobs", 30)
        assert Envelope.model_validate_json(value) == written
    finally:
        await bus.close()
