"""Errors decide what happens to a consumed event: dead-letter, retry, or no-op."""

import json
import uuid
from pathlib import Path

import pytest

from pm_platform.consumers import DeadLetter, Dispatcher, InvalidEvent, Outcome
from pm_platform.metrics import Metrics

pytestmark = pytest.mark.integration

EXAMPLE = (Path(__file__).resolve().parents[4] / "proto/examples/user.deleted/1.json").read_text()


def fresh(**changes) -> bytes:
    event = json.loads(EXAMPLE)
    event["id"] = str(uuid.uuid4())
    event.update(changes)
    return json.dumps(event).encode()


@pytest.fixture
def letters():
    return []


def dispatcher(pool, letters, handler, **kwargs) -> Dispatcher:
    async def dead_letter(letter: DeadLetter, headers: dict[str, str]) -> None:
        letters.append((letter, headers))

    return Dispatcher(
        "playlist", pool, Metrics("t"), {"user.deleted": handler}, dead_letter, backoff_base_s=0.01, **kwargs
    )


async def _count(conn, envelope, event):
    await conn.execute(
        "INSERT INTO counters VALUES ('n', 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
    )


async def test_invalid_events_are_dead_lettered_with_a_reason_and_never_handled(pool, letters):
    d = dispatcher(pool, letters, _count)
    bad_data = json.loads(fresh())
    bad_data["data"]["user_id"] = "not-a-uuid"
    cases = [
        (b"{not json", "invalid envelope"),
        (fresh(specversion="0.3"), "invalid envelope"),
        (fresh(schemaversion=9), "schema version 9 not supported"),
        (json.dumps(bad_data).encode(), "invalid data: user_id"),
    ]
    for raw, reason in cases:
        assert await d.dispatch(raw, "pm.users", {"partition": "0", "offset": "7"}) is Outcome.DEAD_LETTERED
        letter, headers = letters[-1]
        assert reason in letter.reason and letter.raw == raw
        assert headers["dlq_source_topic"] == "pm.users" and headers["dlq_offset"] == "7"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counters") == 0


async def test_an_event_from_a_newer_producer_is_handled_not_dead_lettered(pool, letters):
    """A rolling upgrade: the producer already sends a property (and a CloudEvents extension) this
    consumer's contract does not know yet. Adding an optional property is not a breaking change
    (pm_contracts.compat), so the consumer must read on."""
    seen = []

    async def record(conn, envelope, event):
        seen.append(event)

    d = dispatcher(pool, letters, record)
    newer = json.loads(fresh(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
    newer["data"]["reason"] = "a property added in a later version"
    assert await d.dispatch(json.dumps(newer).encode(), "pm.users") is Outcome.HANDLED
    assert letters == [] and str(seen[0].user_id) == newer["data"]["user_id"]


async def test_handler_rejection_dead_letters_and_rolls_back(pool, letters):
    async def reject(conn, envelope, event):
        await _count(conn, envelope, event)
        raise InvalidEvent("user unknown here")

    d = dispatcher(pool, letters, reject)
    assert await d.dispatch(fresh(), "pm.users") is Outcome.DEAD_LETTERED
    assert "user unknown here" in letters[-1][0].reason
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counters") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 0


async def test_transient_failures_are_retried_then_succeed_once(pool, letters):
    failures = {"left": 3}

    async def flaky(conn, envelope, event):
        await _count(conn, envelope, event)
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionResetError("upstream blinked")

    d = dispatcher(pool, letters, flaky)
    assert await d.dispatch(fresh(), "pm.users") is Outcome.HANDLED
    assert letters == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT value FROM counters WHERE name = 'n'") == 1


async def test_transient_failures_that_outlast_the_attempts_raise_for_redelivery(pool, letters):
    async def down(conn, envelope, event):
        raise TimeoutError("still down")

    d = dispatcher(pool, letters, down, max_attempts=3)
    with pytest.raises(TimeoutError):
        await d.dispatch(fresh(), "pm.users")
    assert letters == []


async def test_event_types_without_a_handler_are_ignored(pool, letters):
    d = dispatcher(pool, letters, _count)
    assert await d.dispatch(fresh(type="user.registered"), "pm.users") is Outcome.IGNORED


async def test_a_topic_the_broker_refuses_is_an_error_naming_it(infra):
    from pm_contracts.registry import TopicSpec
    from pm_platform.kafka import KafkaBus, TopicSetupError

    bus = KafkaBus(
        infra.kafka_bootstrap, client_id="t", replication_factor=3, topic_prefix=f"t-{uuid.uuid4().hex[:6]}."
    )
    spec = TopicSpec(name="x", owner="t", description="", key="k", producers=(), consumers=(), events=())
    with pytest.raises(TopicSetupError, match="replication factor"):
        await bus.ensure_topics([spec])


async def test_through_kafka_a_good_event_is_handled_and_a_bad_one_reaches_the_dead_letter_topic(pool, infra):
    import asyncio

    from aiokafka import AIOKafkaConsumer

    from pm_contracts.registry import topic
    from pm_platform.consumers import kafka_dead_letter, subscribe
    from pm_platform.kafka import KafkaBus

    run = uuid.uuid4().hex[:8]
    bus = KafkaBus(infra.kafka_bootstrap, client_id=f"dlq-{run}", topic_prefix=f"t-{run}.")
    dispatcher = Dispatcher(
        "playlist", pool, Metrics("t"), {"user.deleted": _count}, kafka_dead_letter(bus, "playlist")
    )
    subscribe(bus, dispatcher, [topic("pm.users")], group_id=f"playlist-{run}")
    bus.start_in_background([topic("pm.users")], ["playlist"])
    await asyncio.wait_for(bus.connected.wait(), 60)
    consumer = AIOKafkaConsumer(
        f"t-{run}.pm.dlq.playlist",
        bootstrap_servers=infra.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"reader-{run}",
    )
    await consumer.start()
    try:
        await bus.publish(fresh(), "pm.users", "k", {})
        await bus.publish(b"{not json", "pm.users", "k", {})
        record = await asyncio.wait_for(consumer.getone(), 60)
        headers = {k: v.decode() for k, v in record.headers}
        assert record.value == b"{not json"
        assert headers["dlq_reason"].startswith("invalid envelope")
        assert headers["dlq_source_topic"] == "pm.users"
        for _ in range(100):
            async with pool.acquire() as conn:
                if await conn.fetchval("SELECT value FROM counters WHERE name = 'n'") == 1:
                    break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the good event was not handled through Kafka")
    finally:
        await consumer.stop()
        await bus.close()


async def test_a_handler_bug_is_dead_lettered_not_retried_forever(pool, letters):
    async def buggy(conn, envelope, event):
        return {}["missing"]

    d = dispatcher(pool, letters, buggy)
    assert await d.dispatch(fresh(), "pm.users") is Outcome.DEAD_LETTERED
    assert "KeyError" in letters[-1][0].reason


async def test_closing_while_still_connecting_leaves_no_kafka_client_open(
    infra, monkeypatch: pytest.MonkeyPatch
):
    """A service that stops during start-up (its port taken, say) closes the bus while it connects:
    the producer FastStream is starting at that moment is closed too, not left to the garbage collector."""
    import asyncio

    import aiokafka

    from pm_contracts.registry import topic
    from pm_platform.kafka import KafkaBus

    made: list[aiokafka.AIOKafkaProducer] = []
    starting = asyncio.Event()
    real_start = aiokafka.AIOKafkaProducer.start

    async def slow_start(self):
        made.append(self)
        starting.set()
        await asyncio.sleep(0.5)  # a slow broker: the close arrives in the middle of this
        await real_start(self)

    monkeypatch.setattr(aiokafka.AIOKafkaProducer, "start", slow_start)
    run = uuid.uuid4().hex[:6]
    bus = KafkaBus(infra.kafka_bootstrap, client_id=f"close-{run}", topic_prefix=f"t-{run}.")
    bus.start_in_background([topic("pm.users")], [])
    await asyncio.wait_for(starting.wait(), 30)
    await bus.close()
    assert made and all(p._closed for p in made)
