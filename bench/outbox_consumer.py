"""The consuming "service" of the outbox bench, in a process of its own (`python -m bench.outbox_consumer`).

It consumes as a service does: the platform's :class:`pm_platform.consumers.Dispatcher` registered
with :func:`pm_platform.consumers.subscribe` on a :class:`pm_platform.kafka.KafkaBus` of its own (its
own database pool, consumer group and inbox). Its handler writes one line per handled event to stdout:

    <event id> <CLOCK_MONOTONIC at the handler's start> <wall clock then> <the record's CreateTime, ms>

CLOCK_MONOTONIC is one clock for every process of the machine: the bench compares it with its own
commit times. The Kafka record's CreateTime (when the relay handed the record to aiokafka, read from
FastStream's context, which holds the message being handled) splits the latency into commit → the
relay's send and send → handler, on the wall clock. The process prints ``ready`` once its bus is
connected, answers a ``cpu`` line on stdin with ``cpu <seconds>`` (its CPU time so far), and stops
when stdin closes. The database URL comes in the environment (``BENCH_DATABASE_URL``), not on the
command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import asyncpg
from loguru import logger

from pm_contracts.envelope import Envelope
from pm_contracts.registry import topic
from pm_platform import db
from pm_platform.consumers import Dispatcher, kafka_dead_letter, subscribe
from pm_platform.kafka import KafkaBus
from pm_platform.metrics import Metrics


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _sent_ms(message: Any, event_id: str) -> int:
    """The CreateTime of the record being handled (0 when unknown). A batch subscriber's message holds
    several records: the one whose ``ce_id`` header is the event's."""
    raw = getattr(message, "raw_message", None)
    records = raw if isinstance(raw, tuple | list) else (raw,)
    if len(records) == 1:
        return int(getattr(records[0], "timestamp", 0) or 0)
    wanted = event_id.encode()
    for record in records:
        if ("ce_id", wanted) in (record.headers or ()):
            return int(record.timestamp)
    return 0


async def consume(dsn: str, schema: str, bootstrap: str, prefix: str, group: str, service: str) -> None:
    out = sys.stdout

    async def on_event(conn: asyncpg.Connection, envelope: Envelope, payload: Any) -> None:
        started, wall = now(), time.time()
        sent_ms = _sent_ms(bus.broker.context.get_local("message"), str(envelope.id))
        out.write(f"{envelope.id} {started:.6f} {wall:.6f} {sent_ms}\n")
        out.flush()

    pool = await db.create_pool(dsn, schema, min_size=2, max_size=10)
    bus = KafkaBus(bootstrap, client_id=group, topic_prefix=prefix)
    dispatcher = Dispatcher(
        service, pool, Metrics(service), {"job.updated": on_event}, kafka_dead_letter(bus, service)
    )
    subscribe(bus, dispatcher, [topic("pm.jobs")], group_id=group)
    bus.start_in_background([topic("pm.jobs")], [service])
    try:
        await asyncio.wait_for(bus.connected.wait(), 60)
        out.write("ready\n")
        out.flush()
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):  # until stdin closes
            if line.strip() == "cpu":
                out.write(f"cpu {time.process_time():.6f}\n")
                out.flush()
    finally:
        await bus.close()
        await asyncio.wait_for(pool.close(), 10)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_consumer")
    for name in ("schema", "bootstrap", "prefix", "group", "service"):
        parser.add_argument(name)
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    dsn = os.environ["BENCH_DATABASE_URL"]
    asyncio.run(consume(dsn, args.schema, args.bootstrap, args.prefix, args.group, args.service))


if __name__ == "__main__":
    main()
